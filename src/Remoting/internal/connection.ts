/**
 * The client side of the wire: one connection per remote node, opened when
 * this node first has something to send there, and the pool that bounds
 * and evicts them.
 *
 * Everything sent on a connection goes through its outbox in call order:
 * runs of tells (packed into `Tells` frames when the outbox is flushed),
 * asks and control calls (one frame each, encoded when made). The outbox is
 * flushed once per event-loop turn (`process.nextTick`) with one write, so a
 * burst of tells or of concurrent asks costs one system call.
 *
 * Flow control is by credit: a connection may have at most `window` tells
 * that the receiving node has not confirmed; the node confirms them (a
 * `Credit` frame) once the target actors have processed them (or turned them
 * into deadletters there). Without credit a tell waits, or fails with
 * `MailboxFull` when the pool was built with `backpressure: "fail"`. When a
 * connection breaks, tells still queued here become deadletters here, and
 * the count of tells sent but never confirmed is reported per target
 * (`onUnconfirmed`): at most one window.
 *
 * Replies are matched to calls by id and complete the caller's `Effect.async`
 * from the socket's data callback: no fiber per call.
 *
 * @internal
 */
import {
  type Clock,
  Context,
  Duration,
  Effect,
  Effectable,
  Either,
  Equal,
  Exit,
  type Fiber,
  Hash,
  Runtime,
  Schedule,
  Schema,
  type Scope,
  type Tracer
} from "effect"
import { pipeArguments } from "effect/Pipeable"
import { Address, parse as parseAddress } from "../../Address.js"
import {
  ActorError,
  type AskError,
  AskTimeout,
  BatchAskFailed,
  DecodeError,
  InvalidArgument,
  MailboxFull,
  NodeUnreachable,
  Unauthorized,
  UnknownMessage
} from "../../Errors.js"
import type { FailureOf, ReplyOf, RequestOf, Tagged } from "../../Message.js"
import { type ActorMetrics, emptyActorMetrics } from "../../Metrics.js"
import * as Pid from "../../Pid.js"
import { Resolver } from "../../Pid.js"
import type { Cell } from "../../internal/cell.js"
import { presentAsSyncStep } from "../../internal/effectInternals.js"
import { currentCell } from "../../internal/localPid.js"
import * as Codec from "../Codec.js"
import * as Protocol from "../Protocol.js"
import type * as Transport from "../Transport.js"
import { FrameReader, FrameType, frame, frameWithId, hello, parseWelcome } from "./frame.js"
import { pack, unpack } from "./msgpack.js"
import { currentTracer, traceparent } from "./trace.js"

/** Settings shared by every connection of a pool. */
export interface PoolSettings {
  readonly transport: Transport.Service
  readonly token: string | undefined
  /** Tells a connection may have unconfirmed by the receiving node. */
  readonly window: number
  /** Tells per `Tells` frame at most. */
  readonly maxBatch: number
  /** Without credit: wait for it, or fail the tell with `MailboxFull`. */
  readonly backpressure: "wait" | "fail"
  readonly maxFrameBytes: number
  readonly maxConnections: number
  readonly idleTimeoutMillis: number
  readonly connectTimeoutMillis: number
  readonly askTimeoutMillis: number
  /** How long past the ask timeout the caller waits for the node's own answer. */
  readonly graceMillis: number
  readonly probeInterval: Duration.Duration
  readonly probeTimeout: Duration.Duration
  /** A tell that never left this node (connection refused or broken): publish it here. */
  readonly onUndelivered: (to: Address, message: unknown, reason: string) => void
  /** Tells sent on a connection that broke before the node confirmed them, per target. */
  readonly onUnconfirmed: (node: string, counts: ReadonlyArray<{ readonly target: string; readonly count: number }>) => void
  /** A node told us that an actor we watch stopped (`watcher` is the local watcher's address). */
  readonly onTerminated: (watcher: string, address: string, reason: string) => void
  /** A connection to a node broke (watchers of its actors must hear of it). */
  readonly onLost: (node: string, reason: string) => void
}

const nodeKey = (host: string, port: number) => `${host}:${port}`

/** A reply payload: `[0, value]` or `[1, encoded ActorError]`. */
export type ReplyPayload = readonly [0, unknown] | readonly [1, unknown]

const decodeActorError = Schema.decodeUnknownEither(ActorError)

/** A framework error from its wire encoding (a `DecodeError` when it is none). */
const errorOf = (encoded: unknown): unknown =>
  Either.getOrElse(
    decodeActorError(encoded),
    (e) => new DecodeError({ address: "", messageTag: "", reason: `unknown remote error: ${e.message}` })
  )

class TellRun {
  constructor(
    readonly to: string,
    readonly from: string,
    readonly messages: Array<unknown>,
    /** One `traceparent` per message when the pool traces. */
    readonly traces: Array<string> | undefined
  ) {}
}

interface Pending {
  readonly complete: (reply: ReplyPayload | Error) => void
  readonly deadline: number
}

const CONNECTING = 0
const HANDSHAKE = 1
const OPEN = 2
const CLOSED = 3

/** Written bytes a link may hold before senders let the event loop run (see `Connection.congested`). */
const CONGESTED_BYTES = 64 * 1024

/** A connection to one remote node. */
export class Connection implements Transport.LinkHandler {
  readonly node: string
  private state = CONNECTING
  private readonly link: Transport.Link | undefined
  private readonly reader: FrameReader
  private outbox: Array<TellRun | Buffer> = []
  private last: TellRun | undefined = undefined
  private queuedTells = 0
  private flushQueued = false
  /** Tells that may still be sent before the node confirms some. */
  credit: number
  /** Tells written and not yet confirmed, per target. */
  private readonly unconfirmed = new Map<string, number>()
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private roomWaiters: Array<() => void> = []
  /** Whether anything was sent since the last idle sweep. */
  used = true
  idleSweeps = 0
  /** Remote watches made through this connection (they keep it open). */
  watches = 0
  private failure: Error | undefined = undefined
  /** Until when the connection may take to be accepted (checked by the pool's sweep). */
  private readonly connectDeadline: number

  constructor(
    readonly pool: Pool,
    readonly host: string,
    readonly port: number,
    refused?: Error
  ) {
    this.node = nodeKey(host, port)
    this.credit = pool.settings.window
    this.reader = new FrameReader(pool.settings.maxFrameBytes)
    this.connectDeadline = pool.now() + pool.settings.connectTimeoutMillis
    if (refused !== undefined) {
      this.state = CLOSED
      this.failure = refused
      this.link = undefined
      return
    }
    let link: Transport.Link | undefined
    try {
      link = pool.settings.transport.connect(host, port, this)
    } catch (error) {
      // A bad address (a port out of range) fails here, not in a callback.
      this.state = CLOSED
      this.failure = new NodeUnreachable({ node: this.node, reason: `cannot connect: ${String(error)}` })
    }
    this.link = link
  }

  get closed(): boolean {
    return this.state === CLOSED
  }

  /**
   * Whether the link holds more written bytes than the operating system has
   * taken (`CONGESTED_BYTES`). Writes complete in the event loop (a TLS
   * socket encrypts its next write only when the previous one completed):
   * a sender that keeps the thread must then let the loop run, or the node
   * on the other side idles while bytes wait here.
   */
  get congested(): boolean {
    return this.link !== undefined && this.link.pendingBytes > CONGESTED_BYTES
  }

  /** Lets the event loop run until the link is no longer congested (or closed). */
  get uncongested(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      // Raw timers, not the Effect Clock, as for the credit poll (Server.ts): this waits for the socket to
      // take bytes, which happens in real time even under TestClock (a test clock would freeze the sender).
      let timer: ReturnType<typeof setTimeout> | undefined
      const immediate = setImmediate(() => {
        if (!this.congested || this.closed) return resume(Effect.void)
        const poll = () => {
          if (!this.congested || this.closed) return resume(Effect.void)
          timer = setTimeout(poll, 1)
        }
        poll()
      })
      return Effect.sync(() => {
        clearImmediate(immediate)
        if (timer !== undefined) clearTimeout(timer)
      })
    })
  }

  // ------------------------------------------------------------- link events

  onOpen(): void {
    if (this.state !== CONNECTING) return
    this.state = HANDSHAKE
    this.link!.write(hello(this.pool.settings.token, this.pool.system))
  }

  onData(chunk: Buffer): void {
    const error = this.reader.push(chunk, (body) => this.onFrame(body))
    if (error !== undefined) this.fail(new NodeUnreachable({ node: this.node, reason: `malformed frame: ${error}` }))
  }

  onClose(reason: string | undefined): void {
    const why = reason ?? (this.state === HANDSHAKE
      ? "the node closed the connection before accepting it (with mutual TLS: it does not trust this client's certificate)"
      : "connection closed")
    this.fail(new NodeUnreachable({ node: this.node, reason: why }))
  }

  private onFrame(body: Buffer): boolean {
    if (this.state === CLOSED) return false
    const type = body[0]
    if (this.state === HANDSHAKE) {
      const welcome = type === FrameType.Welcome ? parseWelcome(body.subarray(1)) : undefined
      if (welcome === undefined) {
        this.fail(new NodeUnreachable({ node: this.node, reason: "not an effect-actors node (bad handshake)" }))
        return false
      }
      if (!welcome.accepted) {
        this.fail(new Unauthorized({ node: this.node, reason: welcome.text }))
        return false
      }
      this.state = OPEN
      this.pool.opened(this)
      this.flush()
      return true
    }
    switch (type) {
      case FrameType.Reply: {
        if (body.length < 5) break
        const id = body.readUInt32BE(1)
        const pending = this.pending.get(id)
        const payload = unpack(body.subarray(5))
        if (!Array.isArray(payload) || (payload[0] !== 0 && payload[0] !== 1)) break
        if (pending !== undefined) {
          this.pending.delete(id)
          pending.complete(payload as unknown as ReplyPayload)
        }
        return true
      }
      case FrameType.Credit: {
        const payload = unpack(body.subarray(1))
        if (!Array.isArray(payload)) break
        let granted = 0
        for (let i = 0; i + 1 < payload.length; i += 2) {
          const to: unknown = payload[i]
          const count: unknown = payload[i + 1]
          if (typeof to !== "string" || typeof count !== "number") continue
          const left = (this.unconfirmed.get(to) ?? 0) - count
          if (left > 0) this.unconfirmed.set(to, left)
          else this.unconfirmed.delete(to)
          granted += count
        }
        this.credit = Math.min(this.pool.settings.window, this.credit + granted)
        this.releaseRoom()
        return true
      }
      case FrameType.Terminated: {
        const payload = unpack(body.subarray(1))
        if (!Array.isArray(payload) || payload.length !== 3) break
        const [watcher, address, reason] = payload as Array<unknown>
        if (typeof watcher === "string" && typeof address === "string" && typeof reason === "string") {
          this.pool.settings.onTerminated(watcher, address, reason)
        }
        return true
      }
    }
    this.fail(new NodeUnreachable({ node: this.node, reason: `malformed frame of type ${type} from the node` }))
    return false
  }

  // ------------------------------------------------------------------ tells

  /** Queues one encoded tell (with its sender's `traceparent` when the pool traces); false when there is no credit. */
  offer(to: string, from: string, encoded: unknown, trace?: string): boolean {
    if (this.credit <= 0) return false
    this.credit--
    const last = this.last
    if (last !== undefined && last.to === to && last.from === from) {
      last.messages.push(encoded)
      if (trace !== undefined) last.traces?.push(trace)
    } else {
      const run = new TellRun(to, from, [encoded], trace === undefined ? undefined : [trace])
      this.outbox.push(run)
      this.last = run
    }
    // A full frame leaves at once: a sender that keeps the thread (a loop of
    // tells in one fiber, whose run loop hops on microtasks) would otherwise
    // hold its whole credit window until it waits, and the node would idle.
    if (++this.queuedTells >= this.pool.settings.maxBatch && this.state === OPEN) this.flush()
    else this.scheduleFlush()
    return true
  }

  /** Waits until the connection has credit again (or closed). */
  get room(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.credit > 0 || this.state === CLOSED) return resume(Effect.void)
      const waiter = () => resume(Effect.void)
      this.roomWaiters.push(waiter)
      return Effect.sync(() => {
        const i = this.roomWaiters.indexOf(waiter)
        if (i >= 0) this.roomWaiters.splice(i, 1)
      })
    })
  }

  private releaseRoom(): void {
    while (this.roomWaiters.length > 0 && (this.credit > 0 || this.state === CLOSED)) this.roomWaiters.shift()!()
  }

  // ------------------------------------------------------- asks and control

  /**
   * Sends a frame built with a fresh id and calls `complete` with the reply
   * (or the error that ends the call). Returns a canceller.
   */
  call(build: (id: number) => Buffer, timeoutMillis: number, complete: Pending["complete"]): () => void {
    if (this.state === CLOSED) {
      complete(this.failure ?? new NodeUnreachable({ node: this.node, reason: "connection closed" }))
      return () => {}
    }
    const id = this.nextId
    this.nextId = id >= 0xfffffffe ? 1 : id + 1
    this.pending.set(id, { complete, deadline: this.pool.now() + timeoutMillis })
    this.outbox.push(build(id))
    this.last = undefined
    this.scheduleFlush()
    return () => {
      this.pending.delete(id)
    }
  }

  /** A control call, typed by its request. */
  control<R extends Protocol.ControlRequest>(
    request: R,
    timeoutMillis = this.pool.settings.askTimeoutMillis
  ): Effect.Effect<Schema.WithResult.Success<R>, unknown> {
    return Effect.async<unknown, unknown>((resume) => {
      const payload = Schema.encodeSync(Protocol.ControlRequest)(request)
      return Effect.sync(this.call((id) => frameWithId(FrameType.Control, id, pack(payload)), timeoutMillis, (reply) => {
        if (reply instanceof Error) return resume(Effect.fail(reply))
        if (reply[0] === 1) return resume(Effect.fail(errorOf(reply[1])))
        const decoded = decodeControlSuccess(request, reply[1])
        resume(Either.isRight(decoded) ? Effect.succeed(decoded.right) : Effect.fail(decoded.left))
      }))
    }) as never
  }

  // ------------------------------------------------------------------ writing

  private scheduleFlush(): void {
    this.used = true
    if (this.flushQueued || this.state !== OPEN) return
    this.flushQueued = true
    process.nextTick(() => this.flush())
  }

  /** Writes the whole outbox as one write. */
  private flush(): void {
    this.flushQueued = false
    if (this.state !== OPEN || this.outbox.length === 0) return
    const frames: Array<Buffer> = []
    const maxBatch = this.pool.settings.maxBatch
    // A pool that traces sends every tell with its trace context (see trace.ts).
    const traced = this.pool.tracer !== undefined
    let flat: Array<unknown> = []
    let count = 0
    const endTells = () => {
      if (count === 0) return
      frames.push(frame(traced ? FrameType.TracedTells : FrameType.Tells, pack(flat)))
      flat = []
      count = 0
    }
    for (const item of this.outbox) {
      if (!(item instanceof TellRun)) {
        endTells()
        frames.push(item)
        continue
      }
      this.unconfirmed.set(item.to, (this.unconfirmed.get(item.to) ?? 0) + item.messages.length)
      let messages = item.messages
      let traces = item.traces ?? []
      while (count + messages.length > maxBatch) {
        const room = maxBatch - count
        flat.push(item.to, item.from, messages.slice(0, room))
        if (traced) flat.push(traces.slice(0, room))
        count += room
        endTells()
        messages = messages.slice(room)
        traces = traces.slice(room)
      }
      if (messages.length > 0) {
        flat.push(item.to, item.from, messages)
        if (traced) flat.push(traces)
        count += messages.length
      }
    }
    endTells()
    this.outbox = []
    this.last = undefined
    this.queuedTells = 0
    this.link!.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames))
  }

  // ------------------------------------------------------------------ ending

  /** Fails a connect that took too long, and calls whose deadline passed. */
  sweep(now: number): void {
    if (this.state !== OPEN && this.state !== CLOSED && this.connectDeadline <= now) {
      this.fail(new NodeUnreachable({ node: this.node, reason: "connect timed out" }))
      return
    }
    for (const [id, pending] of this.pending) {
      if (pending.deadline <= now) {
        this.pending.delete(id)
        pending.complete(new NodeUnreachable({ node: this.node, reason: "no answer in time" }))
      }
    }
  }

  get idle(): boolean {
    return this.pending.size === 0 && this.outbox.length === 0 && this.watches === 0 &&
      this.credit === this.pool.settings.window
  }

  /** Closes, failing what was pending with `error`. */
  fail(error: Error): void {
    if (this.state === CLOSED) return
    const wasOpen = this.state === OPEN
    this.state = CLOSED
    this.failure = error
    this.pool.forget(this, wasOpen)
    this.link?.close()
    const reason = `${(error as { _tag?: string })._tag ?? "Error"}: ${(error as { reason?: string }).reason ?? error.message}`
    for (const pending of this.pending.values()) pending.complete(error)
    this.pending.clear()
    const settings = this.pool.settings
    for (const item of this.outbox) {
      if (!(item instanceof TellRun)) continue
      const to = this.pool.addressOf(this.host, this.port, item.to)
      for (const message of item.messages) settings.onUndelivered(to, message, `remote tell not delivered: ${reason}`)
    }
    this.outbox = []
    this.last = undefined
    if (this.unconfirmed.size > 0) {
      const counts = [...this.unconfirmed].map(([target, count]) => ({ target, count }))
      this.unconfirmed.clear()
      settings.onUnconfirmed(this.node, counts)
    }
    if (wasOpen || this.watches > 0) settings.onLost(this.node, reason)
    this.releaseRoom()
    for (const waiter of this.roomWaiters.splice(0)) waiter()
  }

  /** Closes an idle connection (nothing to fail). */
  close(): void {
    this.fail(new NodeUnreachable({ node: this.node, reason: "connection closed by this node" }))
  }

  /** Waits (up to `timeout`) until queued tells have left and been confirmed. */
  drained(timeout: Duration.DurationInput): Effect.Effect<void> {
    const poll: Effect.Effect<void> = Effect.suspend(() =>
      this.state === CLOSED || (this.outbox.length === 0 && this.credit === this.pool.settings.window)
        ? Effect.void
        : Effect.zipRight(Effect.sleep("5 millis"), poll)
    )
    // Finalizers run uninterruptibly: the poll must be interruptible for the timeout to end it.
    return Effect.ignore(Effect.timeout(Effect.interruptible(poll), timeout))
  }
}

/** What a control call answered, decoded with the request's success schema. */
const decodeControlSuccess = (request: Protocol.ControlRequest, value: unknown): Either.Either<unknown, unknown> =>
  Either.mapLeft(
    Protocol.successCodec(request).decode(value),
    (e) => new DecodeError({ address: "", messageTag: request._tag, reason: e.message })
  )

/** The connections of one node (or one `RemoteClient`), by `host:port`. */
export class Pool {
  readonly connections = new Map<string, Connection>()
  private readonly pids = new Map<string, RemotePid>()
  /** Nodes that refused a connection lately: calls fail fast until `until`. */
  private readonly down = new Map<string, { until: number; delay: number; reason: string }>()
  /** How often deadlines (connects, calls, idle connections) are checked. */
  readonly sweepEvery: number
  /** The tracer remote tells and asks are traced with; undefined (the hot path's case) without one. */
  tracer: Tracer.Tracer | undefined = undefined
  closed = false

  constructor(
    readonly settings: PoolSettings,
    private readonly runtime: Runtime.Runtime<never>,
    readonly system: string,
    private readonly clock: Clock.Clock
  ) {
    this.sweepEvery = Math.max(
      50,
      Math.min(250, Math.floor(Math.min(settings.idleTimeoutMillis, settings.connectTimeoutMillis) / 4))
    )
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  fork<A, E>(effect: Effect.Effect<A, E>): Fiber.RuntimeFiber<A, E> {
    return Runtime.runFork(this.runtime)(effect)
  }

  /** The connection to a node, opened now if there is none. */
  connection(host: string, port: number): Connection {
    const key = nodeKey(host, port)
    const existing = this.connections.get(key)
    if (existing !== undefined) return existing
    if (this.closed) return new Connection(this, host, port, new NodeUnreachable({ node: key, reason: "client closed" }))
    const down = this.down.get(key)
    if (down !== undefined && down.until > this.now()) {
      return new Connection(this, host, port, new NodeUnreachable({ node: key, reason: down.reason }))
    }
    if (this.connections.size >= this.settings.maxConnections && !this.evictOne()) {
      return new Connection(
        this,
        host,
        port,
        new NodeUnreachable({ node: key, reason: `connection pool full (${this.settings.maxConnections})` })
      )
    }
    const connection = new Connection(this, host, port)
    // The constructor may have failed synchronously (and forgotten itself).
    if (!connection.closed) this.connections.set(key, connection)
    return connection
  }

  private evictOne(): boolean {
    let candidate: Connection | undefined
    for (const connection of this.connections.values()) {
      if (!connection.idle) continue
      if (candidate === undefined || (!connection.used && candidate.used)) candidate = connection
    }
    candidate?.close()
    return candidate !== undefined
  }

  /** A connection completed its handshake. */
  opened(connection: Connection): void {
    this.down.delete(connection.node)
  }

  /** A connection closed; one that never opened marks its node down for a while. */
  forget(connection: Connection, wasOpen: boolean): void {
    if (this.connections.get(connection.node) === connection) this.connections.delete(connection.node)
    if (!wasOpen && !this.closed) {
      const previous = this.down.get(connection.node)
      const delay = previous === undefined ? 100 : Math.min(2000, previous.delay * 2)
      this.down.set(connection.node, { until: this.now() + delay, delay, reason: "connection refused lately" })
    }
  }

  /** One look at every deadline; `make` runs it every `sweepEvery` on the pool's Clock. */
  sweep(): void {
    const now = this.now()
    for (const connection of [...this.connections.values()]) {
      connection.sweep(now)
      if (connection.closed) continue
      if (connection.used || !connection.idle) {
        connection.used = false
        connection.idleSweeps = 0
      } else if (++connection.idleSweeps * this.sweepEvery >= this.settings.idleTimeoutMillis) {
        connection.close()
      }
    }
    for (const [key, down] of this.down) if (down.until <= now - 60_000) this.down.delete(key)
  }

  addressOf(host: string, port: number, path: string): Address {
    const at = path.indexOf("@")
    return new Address({
      system: at < 0 ? "" : path.slice(0, at),
      host,
      port,
      path: path.slice(at + 1).split("/")
    })
  }

  /** The PID of a remote actor (one object per address, reused). Opens nothing. */
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
   * remote addresses become remote PIDs (opening nothing); a `RemoteClient`'s
   * pool has no local actors. The remoting layer sets the system's resolver.
   */
  decodeContext: Codec.DecodeContext = Context.make(Resolver, {
    resolve: (address) => address.host === "" ? undefined : this.pid(address)
  })

  /** The PID for a sender address from the wire: data only, nothing is opened. */
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
      this.pids.clear()
      // Tells already queued get a short chance to leave before the sockets
      // close. Everything here runs on the clock the pool was built with: a
      // finalizer may run where another clock (a TestClock) is current.
      return Effect.withClock(
        Effect.forEach(all, (c) => Effect.zipRight(c.drained("1 second"), Effect.sync(() => c.close())), {
          discard: true,
          concurrency: "unbounded"
        }),
        this.clock
      )
    })
  }
}

/**
 * A pool whose deadlines (connect and call timeouts, idle connections) are
 * checked by a fiber on the Clock of the caller (so a `TestClock` drives
 * them), until the scope closes; closing the scope closes the pool.
 */
export const makePool = (
  settings: PoolSettings,
  system: string,
  runtime: Runtime.Runtime<never>
): Effect.Effect<Pool, never, Scope.Scope> =>
  Effect.gen(function*() {
    const pool = new Pool(settings, runtime, system, yield* Effect.clock)
    pool.tracer = yield* currentTracer
    yield* Effect.addFinalizer(() => pool.close())
    // Interruptible: the pool may be built inside `acquireRelease`, and the scope must be able to end the sweep.
    yield* Effect.forkScoped(Effect.interruptible(
      Effect.repeat(Effect.sync(() => pool.sweep()), Schedule.spaced(Duration.millis(pool.sweepEvery)))
    ))
    return pool
  })

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

/**
 * An untraced remote tell. When the runtime evaluates it and the send cannot
 * wait or fail (a known tag, a message whose class encodes by copying its
 * fields, credit on an open connection), it is one plain sync step that
 * queues the encoded message, as a local tell is; otherwise its `commit`
 * encodes, and fails or waits for credit.
 */
class RemoteTell extends Effectable.Class<void, DecodeError | UnknownMessage | MailboxFull> {
  encoded: Record<string, unknown> | undefined = undefined
  constructor(readonly pid: RemotePid, readonly message: Tagged) {
    super()
  }

  commit(): Effect.Effect<void, DecodeError | UnknownMessage | MailboxFull> {
    return this.pid.queue(this.message)
  }
}

presentAsSyncStep(
  RemoteTell.prototype,
  (tell) => (tell.encoded = encodeIfSure(tell.pid, tell.message)) !== undefined,
  (tell) => queueEncoded(tell.pid, tell.encoded!)
)

/**
 * The encoding of an untraced tell of `message` to `pid` when it can be
 * queued at once and can neither wait nor fail (a tag of the protocol, a
 * class that encodes by copying its fields, credit on an open connection
 * that is not congested); `undefined` otherwise. With `queueEncoded` in the
 * same synchronous turn: the fast path of a remote tell, and of a tell by
 * name to a cached remote PID.
 */
export const encodeIfSure = (pid: RemotePid, message: Tagged): Record<string, unknown> | undefined =>
  pid.pool.tracer === undefined && pid.acceptsSurely(message) ? Codec.encodeByCopy(message) : undefined

/** Queues what `encodeIfSure` answered (it cannot fail then). */
export const queueEncoded = (pid: RemotePid, encoded: Record<string, unknown>): void => {
  pid.connection.offer(pid.path, currentSender(), encoded, undefined)
}

/** The PID of an actor on another node. Holding one opens nothing: the first send does. */
export class RemotePid implements Pid.Pid<Tagged> {
  readonly [Pid.TypeId]: Pid.TypeId = Pid.TypeId
  /** The target as the receiving node resolves it: `system@path`, or `path` when the system is unknown. */
  readonly path: string
  readonly node: string
  private current: Connection | undefined = undefined

  constructor(
    readonly address: Address,
    readonly pool: Pool,
    readonly tags: ReadonlySet<string> | undefined
  ) {
    // `system@path` lets the receiving node refuse a message meant for another
    // system that now listens on this host and port ("wrong target node").
    const path = address.path.join("/")
    this.path = address.system === "" ? path : `${address.system}@${path}`
    this.node = nodeKey(address.host, address.port)
  }

  /** The connection to the actor's node (opened on first use, replaced when it closed). */
  get connection(): Connection {
    const current = this.current
    if (current !== undefined && !current.closed) return current
    const connection = this.pool.connection(this.address.host, this.address.port)
    this.current = connection
    return connection
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

  tell(message: Tagged): Effect.Effect<void, DecodeError | UnknownMessage | MailboxFull> {
    if (this.pool.tracer === undefined) return new RemoteTell(this, message)
    return this.traced(Effect.suspend(() => this.queue(message)), "remote.tell", "producer", message._tag)
  }

  /** Whether an untraced tell of `message` is queued at once (a known tag, credit on an open connection): see `RemoteTell`. */
  acceptsSurely(message: Tagged): boolean {
    if (this.tags !== undefined && !this.tags.has(message._tag)) return false
    const connection = this.connection
    return connection.credit > 0 && !connection.closed && !connection.congested
  }

  /**
   * The work of a tell, done now by whoever runs an effect that tells (a
   * send by name, which resolves its PID when it runs): the message is
   * queued now and the answer says what is left (nothing, a wait for
   * credit, or the failure). With a tracer, the tell in its span instead.
   */
  tellNow(message: Tagged): Effect.Effect<void, DecodeError | UnknownMessage | MailboxFull> {
    return this.pool.tracer === undefined ? this.queue(message) : this.tell(message)
  }

  /** Encodes and queues `message` now; the answer says what is left (nothing, a wait for credit, or the failure). */
  queue(message: Tagged): Effect.Effect<void, DecodeError | UnknownMessage | MailboxFull> {
    const encoded = this.encode(message)
    if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
    return this.pool.tracer === undefined
      ? this.offer(currentSender(), encoded.right, message._tag, undefined)
      : Effect.flatMap(
        Effect.orDie(Effect.currentSpan),
        (span) => this.offer(currentSender(), encoded.right, message._tag, traceparent(span))
      )
  }

  /**
   * Sends on a tell that this node received for another actor, in its wire
   * form and from its original sender (`from`, the sender's address as the
   * wire carries it, `""` for none): the target sees that sender, so its
   * replies reach it.
   */
  relay(from: string, encoded: unknown, tag: string): Effect.Effect<void, MailboxFull> {
    return Effect.suspend(() => this.offer(from, encoded, tag, undefined))
  }

  /** `effect` in a span named for the call, with the target and the message's tag as attributes (only with a tracer). */
  private traced<A, E>(
    effect: Effect.Effect<A, E>,
    name: string,
    kind: "producer" | "client",
    tag: string
  ): Effect.Effect<A, E> {
    const span = Effect.withSpan(effect, `${name} ${tag}`, {
      kind,
      attributes: { "actor.address": this.address.toString(), "message.tag": tag }
    })
    // The node's tracer, whoever calls: the span is exported with the node's others.
    return Effect.withTracer(span, this.pool.tracer!)
  }

  private offer(from: string, encoded: unknown, tag: string, trace: string | undefined): Effect.Effect<void, MailboxFull> {
    const connection = this.connection
    if (connection.congested) {
      return Effect.zipRight(connection.uncongested, Effect.suspend(() => this.offer(from, encoded, tag, trace)))
    }
    if (connection.offer(this.path, from, encoded, trace)) return Effect.void
    if (connection.closed) {
      // Refused at once (node down lately, pool full): a deadletter here.
      this.pool.settings.onUndelivered(this.address, encoded, "remote tell not delivered: node unreachable")
      return Effect.void
    }
    if (this.pool.settings.backpressure === "fail") {
      return Effect.fail(
        new MailboxFull({ address: this.address.toString(), messageTag: tag, capacity: this.pool.settings.window })
      )
    }
    // Flow control: no credit, wait for the node to confirm (never drop).
    return Effect.flatMap(connection.room, () => this.offer(from, encoded, tag, trace))
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
    const settings = this.pool.settings
    const millis = options?.timeout === undefined
      ? settings.askTimeoutMillis
      : Duration.toMillis(Duration.decode(options.timeout))
    if (!(millis > 0) || !Number.isFinite(millis)) {
      return Effect.fail(new InvalidArgument({ reason: `ask timeout must be positive, got ${millis} ms` }))
    }
    if (this.pool.tracer === undefined) return this.askWith(message, millis, undefined)
    return this.traced(
      Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => this.askWith(message, millis, traceparent(span))),
      "remote.ask",
      "client",
      message._tag
    )
  }

  private askWith<Q extends RequestOf<Tagged>>(
    message: Q,
    millis: number,
    trace: string | undefined
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage> {
    const settings = this.pool.settings
    // The node fails an ask with an ActorError or the request's own failure, decoded with its schema.
    return Effect.async<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage>((resume) => {
      const encoded = this.encode(message)
      if (Either.isLeft(encoded)) return resume(Effect.fail(encoded.left))
      const from = currentSender()
      const payload = pack(
        trace === undefined ? [this.path, from, encoded.right, millis] : [this.path, from, encoded.right, millis, trace]
      )
      const cancel = this.connection.call(
        (id) => frameWithId(FrameType.Ask, id, payload),
        millis + settings.graceMillis,
        (reply) => resume(this.askResult(message, millis, reply) as Exit.Exit<ReplyOf<Q>, FailureOf<Q> | AskError>)
      )
      return Effect.sync(cancel)
    })
  }

  private askResult(message: Tagged, millis: number, reply: ReplyPayload | Error): Exit.Exit<unknown, unknown> {
    if (reply instanceof Error) {
      return reply instanceof NodeUnreachable && reply.reason === "no answer in time"
        ? Exit.fail(new AskTimeout({ address: this.address.toString(), messageTag: message._tag, timeoutMillis: millis }))
        : Exit.fail(reply)
    }
    if (reply[0] === 1) return Exit.fail(errorOf(reply[1]))
    const decoded = Codec.decodeReply(message, reply[1], this.pool.decodeContext)
    if (Either.isLeft(decoded)) {
      return Exit.fail(
        new DecodeError({ address: this.address.toString(), messageTag: message._tag, reason: decoded.left })
      )
    }
    const result = decoded.right
    return Either.isRight(result) ? Exit.succeed(result.right) : Exit.fail(result.left)
  }

  batchTell(messages: Iterable<Tagged>): Effect.Effect<void, DecodeError | UnknownMessage | MailboxFull> {
    return Effect.suspend((): Effect.Effect<void, DecodeError | UnknownMessage | MailboxFull> => {
      const from = currentSender()
      const all: Array<readonly [unknown, string]> = []
      for (const message of messages) {
        const encoded = this.encode(message)
        if (Either.isLeft(encoded)) return Effect.fail(encoded.left)
        all.push([encoded.right, message._tag])
      }
      if (this.pool.tracer === undefined) {
        return Effect.forEach(all, ([encoded, tag]) => this.offer(from, encoded, tag, undefined), { discard: true })
      }
      // One span for the batch: its context goes with every message of it.
      return this.traced(
        Effect.flatMap(Effect.orDie(Effect.currentSpan), (span) => {
          const trace = traceparent(span)
          return Effect.forEach(all, ([encoded, tag]) => this.offer(from, encoded, tag, trace), { discard: true })
        }),
        "remote.batchTell",
        "producer",
        all.length === 0 ? "" : all[0]![1]
      )
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
    return Effect.ignore(this.connection.control(new Protocol.Stop({ name: this.path, kill })))
  }

  get stop(): Effect.Effect<void> {
    return Effect.suspend(() => this.stopCall(false))
  }

  get kill(): Effect.Effect<void> {
    return Effect.suspend(() => this.stopCall(true))
  }

  /** Fails with `ActorNotFound` when no actor holds this address any more, or with a restart's own errors. */
  get restart(): Effect.Effect<void, AskError> {
    // The node answers Respawn with ActorNotFound or the local restart's AskError; the rest are RemoteErrors.
    return Effect.suspend(() => this.connection.control(new Protocol.Respawn({ name: this.path }))) as Effect.Effect<
      void,
      AskError
    >
  }

  get isAlive(): Effect.Effect<boolean> {
    return Effect.suspend(() => this.connection.control(new Protocol.Lookup({ name: this.path }))).pipe(
      Effect.map((found) => found !== null),
      Effect.orElseSucceed(() => false)
    )
  }

  get metrics(): Effect.Effect<ActorMetrics> {
    // An unreachable node or a stopped actor reads as an empty snapshot: the signature has no error channel.
    return Effect.suspend(() => this.connection.control(new Protocol.GetMetrics({ name: this.path }))).pipe(
      Effect.orElseSucceed(() => emptyActorMetrics(this.address.toString()))
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

/** One probe of a node: its `NodeInfo` within `timeout`. */
export const probe = (connection: Connection, timeout: Duration.Duration): Effect.Effect<void, unknown> =>
  Effect.asVoid(connection.control(new Protocol.GetNodeInfo(), Duration.toMillis(timeout)))
