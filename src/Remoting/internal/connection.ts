/**
 * The client side of remoting: one pooled connection per remote node, its
 * outbox of batched tells, and the PIDs of remote actors.
 *
 * A tell encodes its message once, pushes it on the connection's outbox
 * (synchronously; no fiber, no rpc call) and wakes the connection's flusher
 * fiber if it is parked. The flusher takes what has gathered (up to
 * `maxBatch` messages), packs it into one `Deliver` call and keeps at most
 * `maxInFlight` such calls unanswered; while the outbox holds `maxPending`
 * messages, further tells wait for room (they never vanish). Calls are
 * started by the flusher in outbox order, and the server handles each
 * `Deliver` synchronously in arrival order, so messages to one actor keep
 * their order. An ask behind unsent tells goes through the outbox as well
 * (so it cannot overtake them); otherwise it is one direct rpc call.
 *
 * @internal
 */
import type { Headers } from "@effect/platform"
import * as Socket from "@effect/platform/Socket"
import { RpcClient, type RpcClientError, type RpcGroup, RpcSerialization } from "@effect/rpc"
import {
  Cause,
  type Clock,
  Context,
  Duration,
  Effect,
  Either,
  Equal,
  Exit,
  Fiber,
  Hash,
  Layer,
  Option,
  Runtime,
  Schedule,
  Scope
} from "effect"
import { pipeArguments } from "effect/Pipeable"
import { Address, parse as parseAddress } from "../../Address.js"
import {
  type ActorError,
  type AskError,
  AskTimeout,
  BatchAskFailed,
  DecodeError,
  InvalidArgument,
  isActorError,
  NodeUnreachable,
  UnknownMessage
} from "../../Errors.js"
import type { FailureOf, ReplyOf, RequestOf, Tagged } from "../../Message.js"
import type { ActorMetrics } from "../../Metrics.js"
import * as Pid from "../../Pid.js"
import { Resolver } from "../../Pid.js"
import type { Cell } from "../../internal/cell.js"
import { currentCell } from "../../internal/localPid.js"
import * as Codec from "../Codec.js"
import { RemotingRpcs, tokenHeader } from "../Protocol.js"
import { makeClientSocket, type TlsOptions } from "../Transport.js"

type Client = RpcClient.RpcClient<RpcGroup.Rpcs<typeof RemotingRpcs>, RpcClientError.RpcClientError>

/** Settings shared by every connection of a pool. */
export interface PoolSettings {
  readonly tls: TlsOptions | undefined
  readonly token: string | undefined
  readonly reconnect: Schedule.Schedule<unknown, unknown>
  readonly maxBatch: number
  readonly maxInFlight: number
  readonly maxPending: number
  readonly askTimeoutMillis: number
  /** How long past the ask timeout the caller waits for the node's own answer. */
  readonly graceMillis: number
  readonly probeInterval: Duration.Duration
  readonly probeTimeout: Duration.Duration
  /** A tell that could not be delivered (node down): publish it where the sender lives. */
  readonly onUndelivered: (to: Address, message: unknown, reason: string) => void
}

const nodeKey = (host: string, port: number) => `${host}:${port}`

/** Maps a failed call to our typed errors. */
export const callError = (node: string) => (error: ActorError | RpcClientError.RpcClientError): ActorError => {
  if (isActorError(error)) return error
  return new NodeUnreachable({ node, reason: reasonOf(error) })
}

const reasonOf = (error: unknown): string => {
  const cause = (error as { readonly cause?: unknown }).cause
  const message = (error as { readonly message?: unknown }).message
  const inner = cause instanceof Error ? `: ${cause.message}` : ""
  return `${typeof message === "string" ? message : String(error)}${inner}`
}

interface AskItem {
  readonly _tag: "Ask"
  readonly run: Effect.Effect<void>
}

type OutboxItem = Codec.BatchEntry | AskItem

/** A pooled connection to one remote node. */
export class Connection {
  readonly node: string
  client: Client | undefined = undefined
  readonly headers: Headers.Input
  private readonly scope: Scope.CloseableScope
  private outbox: Array<OutboxItem> = []
  private last: Codec.BatchEntry | undefined = undefined
  pending = 0
  inFlight = 0
  /** Asks waiting in the outbox behind tells. */
  asksQueued = 0
  private roomWaiters: Array<() => void> = []
  private wakeFlusher: (() => void) | undefined = undefined
  private readyWaiters: Array<() => void> | undefined = []
  private flusher: Fiber.RuntimeFiber<void> | undefined = undefined
  closed = false

  constructor(
    readonly pool: Pool,
    readonly host: string,
    readonly port: number
  ) {
    this.node = nodeKey(host, port)
    this.headers = pool.settings.token === undefined ? {} : { [tokenHeader]: pool.settings.token }
    this.scope = Effect.runSync(Scope.make())
    const settings = pool.settings
    const protocol = RpcClient.layerProtocolSocket({ retryTransientErrors: false, retrySchedule: settings.reconnect })
      .pipe(
        Layer.provide(Layer.effect(Socket.Socket, makeClientSocket({ host, port, tls: settings.tls }))),
        Layer.provide(RpcSerialization.layerMsgPack)
      )
    const build = Effect.gen(this, function*() {
      const context = yield* Layer.buildWithScope(protocol, this.scope)
      this.client = yield* RpcClient.make(RemotingRpcs, { disableTracing: true }).pipe(
        Effect.provide(context),
        Scope.extend(this.scope)
      )
      const waiters = this.readyWaiters
      this.readyWaiters = undefined
      if (waiters !== undefined) for (const waiter of waiters) waiter()
      yield* this.flushLoop()
    })
    this.flusher = pool.fork(build)
  }

  private get ready(): Effect.Effect<Client> {
    const client = this.client
    if (client !== undefined) return Effect.succeed(client)
    return Effect.async<Client>((resume) => {
      const waiters = this.readyWaiters
      if (waiters === undefined) return resume(Effect.sync(() => this.client!))
      const waiter = () => resume(Effect.sync(() => this.client!))
      waiters.push(waiter)
    })
  }

  // ------------------------------------------------------------------- tells

  /** Queues one encoded tell; false when the outbox is full. */
  offer(to: string, from: string, encoded: unknown): boolean {
    if (this.pending >= this.pool.settings.maxPending) return false
    const last = this.last
    if (last !== undefined && last.to === to && last.from === from) last.messages.push(encoded)
    else {
      const entry: Codec.BatchEntry = { to, from, messages: [encoded] }
      this.outbox.push(entry)
      this.last = entry
    }
    this.pending++
    if (this.inFlight === 0 || this.pending >= this.pool.settings.maxBatch) this.wake()
    return true
  }

  /** Waits until the outbox has room again. */
  get room(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.pending < this.pool.settings.maxPending || this.closed) return resume(Effect.void)
      const waiter = () => resume(Effect.void)
      this.roomWaiters.push(waiter)
      return Effect.sync(() => {
        const i = this.roomWaiters.indexOf(waiter)
        if (i >= 0) this.roomWaiters.splice(i, 1)
      })
    })
  }

  private wake(): void {
    const wake = this.wakeFlusher
    if (wake !== undefined) {
      this.wakeFlusher = undefined
      wake()
    }
  }

  private flushLoop(): Effect.Effect<void> {
    const settings = this.pool.settings
    const park = Effect.async<void>((resume) => {
      this.wakeFlusher = () => resume(Effect.void)
    })
    return Effect.forever(Effect.suspend(() => {
      if (!this.shouldSend(settings)) return park
      this.takeAndSend()
      return Effect.void
    }))
  }

  /**
   * Adaptive batching, like Nagle's algorithm: with nothing in flight, send
   * what is there at once (a lone tell or ask waits for nobody); while a
   * batch is in flight, let tells gather until a full batch is ready or an
   * ask is waiting, up to `maxInFlight` batches.
   */
  private shouldSend(settings: PoolSettings): boolean {
    if (this.outbox.length === 0 || this.inFlight >= settings.maxInFlight) return false
    return this.inFlight === 0 || this.pending >= settings.maxBatch || this.asksQueued > 0
  }

  /** Takes up to `maxBatch` tells (or the tells before an ask, then the ask) and starts their calls. */
  private takeAndSend(): void {
    const settings = this.pool.settings
    const batch: Array<Codec.BatchEntry> = []
    let count = 0
    while (this.outbox.length > 0 && count < settings.maxBatch) {
      const item = this.outbox[0]!
      if ("_tag" in item) {
        if (batch.length > 0) break
        this.outbox.shift()
        this.asksQueued--
        this.pool.fork(item.run)
        return
      }
      const room = settings.maxBatch - count
      if (item.messages.length <= room) {
        this.outbox.shift()
        if (item === this.last) this.last = undefined
        batch.push(item)
        count += item.messages.length
      } else {
        batch.push({ to: item.to, from: item.from, messages: item.messages.splice(0, room) })
        count += room
      }
    }
    this.pending -= count
    this.inFlight++
    this.sendBatch(batch)
    this.releaseRoom()
  }

  private releaseRoom(): void {
    const max = this.pool.settings.maxPending
    while (this.roomWaiters.length > 0 && this.pending < max) this.roomWaiters.shift()!()
  }

  private sendBatch(batch: Array<Codec.BatchEntry>): void {
    const client = this.client!
    const bytes = Codec.encodeBatch(batch)
    this.pool.fork(
      client.Deliver({ batch: bytes }, { headers: this.headers }).pipe(
        Effect.exit,
        Effect.flatMap((exit) =>
          Effect.sync(() => {
            this.inFlight--
            this.wake()
            if (Exit.isFailure(exit)) this.undelivered(batch, exit.cause)
          })
        )
      )
    )
  }

  private undelivered(batch: Array<Codec.BatchEntry>, cause: Cause.Cause<unknown>): void {
    const failure = Cause.failureOption(cause)
    const error = Option.isSome(failure)
      ? callError(this.node)(failure.value as ActorError)
      : new NodeUnreachable({ node: this.node, reason: "interrupted" })
    const detail = (error as { readonly reason?: unknown }).reason
    const reason = `remote tell not delivered: ${(error as { _tag: string })._tag}: ${
      typeof detail === "string" ? detail : reasonOf(error)
    }`
    for (const entry of batch) {
      const to = this.pool.addressOf(this.host, this.port, entry.to)
      for (const message of entry.messages) this.pool.settings.onUndelivered(to, message, reason)
    }
  }

  /** Tells behind which an ask must queue (so it cannot overtake them). */
  private get busy(): boolean {
    return this.outbox.length > 0 || this.inFlight > 0 || this.client === undefined
  }

  // -------------------------------------------------------------------- asks

  /** Runs a call now, or through the outbox when tells are still on their way. */
  ordered<A, E>(call: (client: Client) => Effect.Effect<A, E>): Effect.Effect<A, E> {
    if (!this.busy) return call(this.client!)
    return Effect.async<A, E>((resume) => {
      const item: AskItem = {
        _tag: "Ask",
        run: Effect.flatMap(this.ready, (client) =>
          Effect.matchCause(call(client), {
            onSuccess: (a) => resume(Effect.succeed(a)),
            onFailure: (cause) => resume(Effect.failCause(cause))
          }))
      }
      this.outbox.push(item)
      this.asksQueued++
      this.last = undefined
      this.wake()
    })
  }

  /** A call that need not keep order with tells (lookup, spawn, probes). */
  call<A, E>(f: (client: Client) => Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.flatMap(this.ready, f)
  }

  /** Waits (up to `timeout`) until every queued tell has been sent and answered. */
  drained(timeout: Duration.DurationInput): Effect.Effect<void> {
    const poll: Effect.Effect<void> = Effect.suspend(() =>
      this.outbox.length === 0 && this.inFlight === 0 ? Effect.void : Effect.zipRight(Effect.sleep("5 millis"), poll)
    )
    // Finalizers run uninterruptibly: the poll must be interruptible for the timeout to end it.
    return Effect.ignore(Effect.timeout(Effect.interruptible(poll), timeout))
  }

  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      const fiber = this.flusher
      this.releaseRoom()
      for (const waiter of this.roomWaiters.splice(0)) waiter()
      return Effect.zipRight(
        fiber === undefined ? Effect.void : Fiber.interrupt(fiber),
        Scope.close(this.scope, Exit.void)
      )
    })
  }
}

/** The connections of one node (or one `RemoteClient`), by `host:port`. */
export class Pool {
  readonly connections = new Map<string, Connection>()
  private readonly pids = new Map<string, RemotePid>()
  closed = false

  constructor(
    readonly settings: PoolSettings,
    private readonly runtime: Runtime.Runtime<never>,
    readonly system: string,
    private readonly clock: Clock.Clock
  ) {}

  fork<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    return Runtime.runFork(this.runtime)(effect)
  }

  connection(host: string, port: number): Connection {
    const key = nodeKey(host, port)
    let connection = this.connections.get(key)
    if (connection === undefined) {
      connection = new Connection(this, host, port)
      this.connections.set(key, connection)
    }
    return connection
  }

  addressOf(host: string, port: number, path: string): Address {
    return new Address({ system: this.system, host, port, path: path.split("/") })
  }

  /** The PID of a remote actor (one object per address, reused). */
  pid(address: Address, tags?: ReadonlySet<string>): RemotePid {
    const key = address.toString()
    let pid = this.pids.get(key)
    if (pid === undefined || (tags !== undefined && pid.tags !== tags)) {
      if (this.pids.size >= 10_000) this.pids.clear()
      pid = new RemotePid(address, this, tags)
      this.pids.set(key, pid)
    }
    return pid
  }

  /**
   * Resolves an address decoded from a message or a reply (`Pid.schema`):
   * remote addresses become remote PIDs; a `RemoteClient`'s pool has no
   * local actors. Set by the remoting layer to the system's resolver.
   */
  decodeContext: Codec.DecodeContext = Context.make(Resolver, {
    resolve: (address) => address.host === "" ? undefined : this.pid(address)
  })

  /** The PID for a sender address from the wire. */
  pidOf(text: string): RemotePid | undefined {
    const cached = this.pids.get(text)
    if (cached !== undefined) return cached
    const address = parseAddress(text)
    return address === undefined || address.host === "" ? undefined : this.pid(address)
  }

  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      const all = [...this.connections.values()]
      this.connections.clear()
      this.pids.clear()
      // Tells already queued get a short chance to leave before the sockets
      // close. Everything here runs on the clock the pool was built with: a
      // finalizer may run where another clock (a TestClock) is current.
      return Effect.withClock(
        Effect.forEach(all, (c) => Effect.zipRight(c.drained("1 second"), c.close()), {
          discard: true,
          concurrency: "unbounded"
        }),
        this.clock
      )
    })
  }
}

// ---------------------------------------------------------------- the PID

const senders = new WeakMap<Cell, string>()

/** The address of the actor running the current fiber, when it can be reached from other nodes. */
const currentSender = (): string => {
  const runnable = currentCell()
  if (runnable === undefined || runnable.system.host === "") return ""
  let text = senders.get(runnable)
  if (text === undefined) {
    text = runnable.addressString()
    senders.set(runnable, text)
  }
  return text
}

/** The PID of an actor on another node. */
export class RemotePid implements Pid.Pid<Tagged> {
  readonly [Pid.TypeId]: Pid.TypeId = Pid.TypeId
  /** The target as the receiving node resolves it: `system@path`, or `path` when the system is unknown. */
  readonly path: string

  private pooled: Connection | undefined = undefined

  constructor(
    readonly address: Address,
    readonly pool: Pool,
    readonly tags: ReadonlySet<string> | undefined
  ) {
    // `system@path` lets the receiving node refuse a message meant for another
    // system that now listens on this host and port ("wrong target node").
    const path = address.path.join("/")
    this.path = address.system === "" ? path : `${address.system}@${path}`
  }

  /**
   * The connection to the actor's node, opened when first needed: a PID
   * decoded from a message is only an address until something is sent.
   */
  get connection(): Connection {
    return this.pooled ??= this.pool.connection(this.address.host, this.address.port)
  }

  get name(): string {
    return this.address.name
  }

  private encode(message: Tagged): Either.Either<unknown, DecodeError | UnknownMessage> {
    if (this.tags !== undefined && !this.tags.has(message._tag) && message._tag !== "PoisonPill") {
      return Either.left(new UnknownMessage({ address: this.address.toString(), messageTag: message._tag }))
    }
    return Either.mapLeft(
      Codec.encodeMessage(message),
      (reason) => new DecodeError({ address: this.address.toString(), messageTag: message._tag, reason })
    )
  }

  tell(message: Tagged): Effect.Effect<void, DecodeError | UnknownMessage> {
    return Effect.suspend(() => {
      const encoded = this.encode(message)
      if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
      return this.offer(currentSender(), encoded.right)
    })
  }

  private offer(from: string, encoded: unknown): Effect.Effect<void> {
    const connection = this.connection
    if (connection.offer(this.path, from, encoded)) return Effect.void
    // Flow control: the outbox is full, wait for room (never drop).
    const retry: Effect.Effect<void> = Effect.flatMap(connection.room, () =>
      connection.closed || connection.offer(this.path, from, encoded) ? Effect.void : retry)
    return retry
  }

  /**
   * Fails, besides the request's own failure, with what a local ask fails
   * with and with what the node answers: `ActorNotFound` when no actor holds
   * this address any more, `NodeUnreachable`, `DecodeError`, `Unauthorized`.
   */
  ask<Q extends RequestOf<Tagged>>(
    message: Q,
    options?: Pid.AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage> {
    const settings = this.connection.pool.settings
    const millis = options?.timeout === undefined
      ? settings.askTimeoutMillis
      : Duration.toMillis(Duration.decode(options.timeout))
    if (!(millis > 0) || !Number.isFinite(millis)) {
      return Effect.fail(new InvalidArgument({ reason: `ask timeout must be positive, got ${millis} ms` }))
    }
    return Effect.suspend(() => {
      const encoded = this.encode(message)
      if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
      const from = currentSender()
      const node = this.connection.node
      const address = this.address.toString()
      return this.connection.ordered((client) =>
        client.Ask({ to: this.path, from, message: encoded.right, timeoutMillis: millis }, {
          headers: this.connection.headers
        })
      ).pipe(
        Effect.mapError(callError(node)),
        Effect.flatMap((reply) => {
          const decoded = Codec.decodeReply(message, reply, this.pool.decodeContext)
          if (Either.isLeft(decoded)) {
            return Effect.fail(new DecodeError({ address, messageTag: message._tag, reason: decoded.left }))
          }
          // Decoded with the request's own success and failure schemas.
          const result = decoded.right as Either.Either<ReplyOf<Q>, FailureOf<Q>>
          return Either.isRight(result) ? Effect.succeed(result.right) : Effect.fail(result.left)
        }),
        Effect.timeoutFail({
          duration: millis + settings.graceMillis,
          onTimeout: () => new AskTimeout({ address, messageTag: message._tag, timeoutMillis: millis })
        })
      )
    }) as Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage>
  }

  batchTell(messages: Iterable<Tagged>): Effect.Effect<void, DecodeError | UnknownMessage> {
    return Effect.suspend(() => {
      const from = currentSender()
      const all: Array<unknown> = []
      for (const message of messages) {
        const encoded = this.encode(message)
        if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
        all.push(encoded.right)
      }
      return Effect.forEach(all, (encoded) => this.offer(from, encoded), { discard: true })
    })
  }

  batchAsk<Q extends RequestOf<Tagged>>(
    messages: Iterable<Q>,
    options?: Pid.AskOptions
  ): Effect.Effect<Array<ReplyOf<Q>>, Pid.BatchAskError<Q>> {
    const all = [...messages]
    return Effect.forEach(
      all,
      (message, index) =>
        Effect.mapError(
          this.ask(message, options),
          (error) => new BatchAskFailed({ index, error }) as Pid.BatchAskError<Q>
        ),
      { concurrency: "unbounded" }
    )
  }

  private stopCall(kill: boolean): Effect.Effect<void> {
    return this.connection.ordered((client) =>
      client.Stop({ name: this.path, kill }, { headers: this.connection.headers })
    ).pipe(Effect.ignore)
  }

  get stop(): Effect.Effect<void> {
    return this.stopCall(false)
  }

  get kill(): Effect.Effect<void> {
    return this.stopCall(true)
  }

  /** Fails with `ActorNotFound` when no actor holds this address any more, or with a restart's own errors. */
  get restart(): Effect.Effect<void, AskError> {
    return this.connection.ordered((client) =>
      client.Respawn({ name: this.path }, { headers: this.connection.headers })
    ).pipe(
      // The node answers Respawn with ActorNotFound or the local restart's AskError; the rest are RemoteErrors.
      Effect.mapError((error) => callError(this.connection.node)(error) as AskError)
    )
  }

  get isAlive(): Effect.Effect<boolean> {
    return this.connection.call((client) => client.Lookup({ name: this.path }, { headers: this.connection.headers }))
      .pipe(
        Effect.map((found) => found !== null),
        Effect.orElseSucceed(() => false)
      )
  }

  get metrics(): Effect.Effect<ActorMetrics> {
    const connection = this.connection
    const empty: ActorMetrics = {
      address: this.address.toString(),
      processed: 0,
      mailboxSize: 0,
      restarts: 0,
      children: 0,
      stashSize: 0,
      lastProcessingMillis: Option.none()
    }
    // An unreachable node or a stopped actor reads as an empty snapshot: the signature has no error channel.
    return connection.call((client) => client.Metrics({ name: this.path }, { headers: connection.headers })).pipe(
      Effect.orElseSucceed(() => empty)
    )
  }

  /** A remote actor cannot be made to watch: watch it from a local actor instead. */
  watch(_target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.void
  }

  /** See `watch`. */
  unwatch(_target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.void
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return Pid.isPid(that) && Equal.equals(this.address, that.address)
  }

  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.address.toString()))
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  toString(): string {
    return `RemotePid(${this.address.toString()})`
  }

  toJSON(): unknown {
    return { _id: "Pid", address: this.address.toString() }
  }
}

/** How long a probe of a watched node may take. */
export const probe = (connection: Connection, timeout: Duration.Duration): Effect.Effect<void, unknown> =>
  connection.call((client) => client.NodeInfo(undefined, { headers: connection.headers })).pipe(
    Effect.mapError(callError(connection.node)),
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new NodeUnreachable({ node: connection.node, reason: "no answer to a probe" })
    }),
    Effect.asVoid
  )

/** Builds the schedule of a reconnect from a number of milliseconds. */
export const defaultReconnect: Schedule.Schedule<unknown, unknown> = Schedule.exponential("100 millis", 2).pipe(
  Schedule.union(Schedule.spaced("2 seconds"))
)
