/**
 * The server side of remoting: accepts connections on a transport, enforces
 * the limits, and serves tells, asks and control calls into the local
 * actor system.
 *
 * Tells are delivered synchronously into the target cells as their frame
 * arrives (a tell across nodes ends as a local tell: no fiber per message);
 * asks complete through their reply callback, which queues the `Reply`
 * frame. Bad input that is well framed (an unknown actor, a message failing
 * its Schema) is a deadletter here and a typed error for an ask; input that
 * breaks the wire format closes the connection, counted and logged (at most
 * one log line per second and kind).
 *
 * @example
 * ```ts
 * // Used by Remoting.layer; the limits are options of Remoting.layer:
 * // Remoting.layer({ limits: { maxFrameBytes: 1 << 20, idleTimeout: "1 minute" } })
 * ```
 * @since 0.1.0
 */
import type { SocketServerError } from "@effect/platform/SocketServer"
import { Cause, Duration, Effect, Either, Exit, Option, Runtime, Schedule, Schema } from "effect"
import type { Clock, Scope, Tracer } from "effect"
import { ActorError, ActorNotFound, DecodeError, InvalidArgument, isActorError } from "../Errors.js"
import type { Tagged } from "../Message.js"
import type * as Pid from "../Pid.js"
import { AskHandle } from "../internal/envelope.js"
import type { Cell } from "../internal/cell.js"
import * as Codec from "./Codec.js"
import * as Protocol from "./Protocol.js"
import type * as Transport from "./Transport.js"
import { pack, unpack } from "./internal/msgpack.js"
import { FrameType, frameWithId } from "./internal/frame.js"
import { hashToken, Inbound, type InboundServer, type Limits } from "./internal/inbound.js"
import type { Node } from "./internal/node.js"
import { currentTracer, endSpan, receiveSpan } from "./internal/trace.js"

/**
 * What a server counted since it started.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  /** Connections open now. */
  readonly connections: number
  /** Connections accepted in total. */
  readonly accepted: number
  /** Closed for malformed input. */
  readonly malformed: number
  /** Refused in the handshake (wrong or missing token, wrong version). */
  readonly unauthorized: number
  /** Closed by a limit (too many connections, no handshake in time, a peer that does not read). */
  readonly limited: number
  /** Closed after `idleTimeout` without traffic. */
  readonly idle: number
  /** Refused by the TLS handshake. */
  readonly tlsRefused: number
}

const encodeError = Schema.encodeSync(ActorError)

/** A framework error in its wire encoding (anything else becomes a `DecodeError`). */
const wire = (error: unknown): unknown =>
  encodeError(isActorError(error) ? error : new DecodeError({ address: "", messageTag: "", reason: String(error) }))

/** What a control call answers, encoded with the request's success schema. */
const encodeControlSuccess = (request: Protocol.ControlRequest, value: unknown): Either.Either<unknown, string> =>
  Either.mapLeft(Protocol.successCodec(request).encode(value), (e) => e.message)

const decodeControl = Schema.decodeUnknownEither(Protocol.ControlRequest)

/** A reply: `[0, value]` or `[1, encoded ActorError]`. */
type ReplyPayload = readonly [0, unknown] | readonly [1, unknown]

/** @internal */
export class Server implements InboundServer {
  readonly connections = new Set<Inbound>()
  readonly tokenHash: Buffer | undefined
  private readonly creditPending = new Set<Inbound>()
  private creditArmed = false
  private readonly counts = { accepted: 0, malformed: 0, unauthorized: 0, limited: 0, idle: 0 }
  private readonly lastLog = new Map<string, { at: number; suppressed: number }>()
  /** Refused links closing gracefully (their refusal is being sent), closed for good at `until`. */
  private ending: Array<{ readonly link: Transport.Link; readonly until: number }> = []
  /** How often the handshake and idle deadlines are checked (by `serve`, on the Clock). */
  readonly sweepEvery: number
  /** Spans for calls that arrive with a trace context; undefined (no spans) without a tracer. */
  tracer: Tracer.Tracer | undefined = undefined
  tlsRefused: () => number = () => 0

  constructor(
    readonly node: Node,
    readonly limits: Limits,
    token: string | undefined,
    private readonly runtime: Runtime.Runtime<never>,
    private readonly clock: Clock.Clock
  ) {
    this.tokenHash = token === undefined ? undefined : hashToken(token)
    this.sweepEvery = Math.max(50, Math.min(1000, Math.floor(Math.min(limits.handshakeTimeoutMillis, limits.idleTimeoutMillis) / 4)))
  }

  get system(): string {
    return this.node.impl.name
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  stats(): Stats {
    return { connections: this.connections.size, ...this.counts, tlsRefused: this.tlsRefused() }
  }

  accept(link: Transport.Link): Transport.LinkHandler {
    if (this.connections.size >= this.limits.maxConnections) {
      this.counts.limited++
      this.log("limit", `connection from ${link.remote} refused: ${this.limits.maxConnections} connections open`)
      link.close()
      return { onOpen: () => {}, onData: () => {}, onClose: () => {} }
    }
    this.counts.accepted++
    const connection = new Inbound(this, link)
    this.connections.add(connection)
    return connection
  }

  reject(connection: Inbound, kind: "malformed" | "unauthorized" | "limit", reason: string): void {
    if (kind === "malformed") this.counts.malformed++
    else if (kind === "unauthorized") this.counts.unauthorized++
    else this.counts.limited++
    this.log(kind, `connection from ${connection.link.remote} closed: ${reason}`)
    this.drop(connection)
    // A refusal is answered (the Welcome frame) before the socket closes;
    // a peer that does not read it is cut by the sweep a second later.
    if (kind === "unauthorized") {
      connection.link.end()
      this.ending.push({ link: connection.link, until: this.now() + 1000 })
    } else connection.link.close()
  }

  closed(connection: Inbound): void {
    this.drop(connection)
  }

  private drop(connection: Inbound): void {
    connection.closed = true
    if (!this.connections.delete(connection)) return
    this.creditPending.delete(connection)
    this.node.inboundClosed(connection)
  }

  /** One log line per kind and second at most, with the count of those left out. */
  private log(kind: string, text: string): void {
    const now = this.now()
    const last = this.lastLog.get(kind)
    if (last !== undefined && now - last.at < 1000) {
      last.suppressed++
      return
    }
    const suppressed = last?.suppressed ?? 0
    this.lastLog.set(kind, { at: now, suppressed: 0 })
    const more = suppressed > 0 ? ` (and ${suppressed} more in the last second)` : ""
    Runtime.runFork(this.runtime)(Effect.logWarning(`remoting ${this.node.node}: ${text}${more}`))
  }

  /** One look at the handshake, idle and closing deadlines; `serve` runs it every `sweepEvery`. */
  sweep(): void {
    const now = this.now()
    if (this.ending.length > 0) {
      const due = this.ending.filter((e) => e.until <= now)
      this.ending = this.ending.filter((e) => e.until > now)
      for (const { link } of due) link.close()
    }
    for (const connection of [...this.connections]) {
      if (!connection.authed) {
        if (now - connection.openedAt > this.limits.handshakeTimeoutMillis) {
          this.reject(connection, "limit", "no handshake in time")
        }
        continue
      }
      if (connection.active) {
        connection.active = false
        connection.idleMillis = 0
      } else if ((connection.idleMillis += this.sweepEvery) >= this.limits.idleTimeoutMillis && connection.watches.size === 0) {
        this.counts.idle++
        this.drop(connection)
        connection.link.close()
      }
    }
  }

  close(): void {
    for (const { link } of this.ending.splice(0)) link.close()
    for (const connection of [...this.connections]) {
      this.drop(connection)
      connection.link.close()
    }
  }

  // ---------------------------------------------------------------- credit

  private armCredit(connection: Inbound): void {
    this.creditPending.add(connection)
    if (this.creditArmed) return
    this.creditArmed = true
    // First look on the next turn (fast actors are done by then), then every
    // millisecond while some wait. Raw timers on purpose: this polls the
    // cells' progress (not a timeout), so it must follow real time even under
    // a TestClock (or the senders' flow control would freeze), and it runs per
    // `Tells` frame on the hot path: a fiber per tick measured +2 µs of CPU
    // per turn and +25 µs per 1 ms tick over setImmediate / setTimeout.
    setImmediate(() => this.creditTick())
  }

  private creditTick(): void {
    this.creditArmed = false
    for (const connection of this.creditPending) {
      connection.releaseCredit()
      if (connection.outstanding === 0 || connection.closed) this.creditPending.delete(connection)
    }
    if (this.creditPending.size > 0) {
      this.creditArmed = true
      // A raw timer, not the Effect Clock: see `armCredit` (it polls the cells, and must follow real time under TestClock).
      setTimeout(() => this.creditTick(), 1)
    }
  }

  // ---------------------------------------------------------------- frames

  handle(connection: Inbound, type: number, body: Buffer): boolean {
    switch (type) {
      case FrameType.Tells:
        return this.tells(connection, body, false)
      case FrameType.TracedTells:
        return this.tells(connection, body, true)
      case FrameType.Ask:
        return this.ask(connection, body)
      case FrameType.Control:
        return this.control(connection, body)
      default:
        return false
    }
  }

  /** `Tells`: `[to, from, messages]` triples; `TracedTells`: `[to, from, messages, traceparents]`. */
  private tells(connection: Inbound, body: Buffer, traced: boolean): boolean {
    const flat = unpack(body.subarray(1))
    const stride = traced ? 4 : 3
    if (!Array.isArray(flat) || flat.length % stride !== 0) return false
    for (let i = 0; i < flat.length; i += stride) {
      const to: unknown = flat[i]
      const from: unknown = flat[i + 1]
      const messages: unknown = flat[i + 2]
      if (typeof to !== "string" || typeof from !== "string" || !Array.isArray(messages)) return false
      if (!traced) this.deliver(connection, to, from, messages)
      else {
        const traces: unknown = flat[i + 3]
        if (!Array.isArray(traces) || traces.length !== messages.length || !traces.every((t) => typeof t === "string")) {
          return false
        }
        if (this.tracer === undefined) this.deliver(connection, to, from, messages)
        else this.deliverTraced(this.tracer, connection, to, from, messages, traces as Array<string>)
      }
    }
    this.armCredit(connection)
    return true
  }

  /** Delivers tells into their target synchronously, as a local tell would. */
  private deliver(connection: Inbound, to: string, from: string, messages: Array<unknown>): void {
    const node = this.node
    const cell = node.resolve(to)
    if (cell === undefined) {
      if (node.divertTells(to, from, messages)) {
        connection.settled(to, messages.length)
        return
      }
      const reason = node.notFoundReason(to)
      for (const message of messages) node.deadletter(to, message, from, reason)
      connection.settled(to, messages.length)
      return
    }
    const sender = node.senderOf(from)
    const protocol = cell.def.protocol
    let accepted = 0
    for (const encoded of messages) {
      const message = Codec.decodeMessage(protocol, encoded, node.pool.decodeContext)
      if (Either.isLeft(message)) node.deadletter(to, encoded, from, message.left)
      // A refusal (stopped, mailbox full) is published as a deadletter by `send`.
      else if (cell.send(message.right, sender, undefined) === undefined) accepted++
    }
    if (accepted > 0) connection.delivered(cell, to, accepted)
    if (accepted < messages.length) connection.settled(to, messages.length - accepted)
  }

  /** `deliver`, one message at a time, each in a `consumer` span that is a child of its sender's span. */
  private deliverTraced(
    tracer: Tracer.Tracer,
    connection: Inbound,
    to: string,
    from: string,
    messages: Array<unknown>,
    traces: Array<string>
  ): void {
    for (let j = 0; j < messages.length; j++) {
      const tag = Codec.encodedTag(messages[j])
      const span = receiveSpan(tracer, this.clock, `remote.receive ${tag}`, traces[j]!, "consumer", {
        "actor.address": to,
        "message.tag": tag
      })
      this.deliver(connection, to, from, [messages[j]])
      endSpan(span, this.clock)
    }
  }

  private reply(connection: Inbound, id: number, payload: ReplyPayload): void {
    connection.send(frameWithId(FrameType.Reply, id, pack(payload)))
  }

  private ask(connection: Inbound, body: Buffer): boolean {
    if (body.length < 5) return false
    const id = body.readUInt32BE(1)
    const payload = unpack(body.subarray(5))
    // `[to, from, message, timeoutMillis]`, and a `traceparent` from a node that traces.
    if (!Array.isArray(payload) || (payload.length !== 4 && payload.length !== 5)) return false
    const [to, from, encoded, timeoutMillis, trace] = payload as Array<unknown>
    if (typeof to !== "string" || typeof from !== "string") return false
    if (trace !== undefined && typeof trace !== "string") return false
    const answer = trace === undefined || this.tracer === undefined
      ? (result: ReplyPayload) => this.reply(connection, id, result)
      : this.tracedAnswer(this.tracer, connection, id, to, encoded, trace)
    if (typeof timeoutMillis !== "number" || !(timeoutMillis > 0) || !Number.isFinite(timeoutMillis)) {
      answer([1, wire(new InvalidArgument({ reason: `ask timeout must be positive, got ${String(timeoutMillis)}` }))])
      return true
    }
    const node = this.node
    const cell = node.resolve(to)
    if (cell !== undefined) return this.askCell(answer, cell, to, from, encoded, timeoutMillis)
    const diverted = node.divertAsk(
      to,
      (grain) => this.askCell(answer, grain, to, from, encoded, timeoutMillis),
      (error) => answer([1, wire(error)])
    )
    if (!diverted) {
      node.deadletter(to, encoded, from, node.notFoundReason(to))
      answer([1, wire(new ActorNotFound({ actorName: to }))])
    }
    return true
  }

  /** Replies to an ask that came with a trace context: a `server` span, a child of the caller's, until the reply. */
  private tracedAnswer(
    tracer: Tracer.Tracer,
    connection: Inbound,
    id: number,
    to: string,
    encoded: unknown,
    trace: string
  ): (result: ReplyPayload) => void {
    const tag = Codec.encodedTag(encoded)
    const span = receiveSpan(tracer, this.clock, `remote.handle ${tag}`, trace, "server", {
      "actor.address": to,
      "message.tag": tag
    })
    return (result) => {
      endSpan(span, this.clock, result[0] === 1 ? result[1] : undefined)
      this.reply(connection, id, result)
    }
  }

  /** Offers an ask to the cell it is for; `answer` sends the reply. */
  private askCell(
    answer: (result: ReplyPayload) => void,
    cell: Cell,
    to: string,
    from: string,
    encoded: unknown,
    timeoutMillis: number
  ): boolean {
    const node = this.node
    const decoded = Codec.decodeMessage(cell.def.protocol, encoded, node.pool.decodeContext)
    if (Either.isLeft(decoded)) {
      node.deadletter(to, encoded, from, decoded.left)
      answer([
        1,
        wire(new DecodeError({ address: cell.addressString(), messageTag: Codec.encodedTag(encoded), reason: decoded.left }))
      ])
      return true
    }
    const message = decoded.right
    const handle = new AskHandle(
      (effect) => answer(this.askReply(cell, message, effect)),
      cell,
      message,
      timeoutMillis,
      node.senderOf(from) as unknown as Pid.Pid<never> | undefined
    )
    const error = cell.offerAsk(message, handle.sender, handle)
    if (error !== undefined) answer([1, wire(error)])
    return true
  }

  private askReply(
    cell: Cell,
    message: Tagged,
    effect: Effect.Effect<unknown, unknown>
  ): readonly [0, unknown] | readonly [1, unknown] {
    // What an ask handle resumes with is an Exit (Effect.succeed / fail are Exits in effect 3).
    const exit = Exit.isExit(effect) ? effect : Effect.runSync(Effect.exit(effect))
    const address = cell.addressString()
    if (Exit.isSuccess(exit)) {
      const reply = Codec.encodeSuccess(message, exit.value)
      return Either.isRight(reply)
        ? [0, reply.right]
        : [1, wire(new DecodeError({ address, messageTag: message._tag, reason: reply.left }))]
    }
    const failure = Cause.failureOption(exit.cause)
    if (Option.isNone(failure)) {
      return [1, wire(new DecodeError({ address, messageTag: message._tag, reason: Cause.pretty(exit.cause) }))]
    }
    const error = failure.value
    if (isActorError(error)) return [1, wire(error)]
    const reply = Codec.encodeFailure(message, error)
    return Either.isRight(reply)
      ? [0, reply.right]
      : [1, wire(new DecodeError({ address, messageTag: message._tag, reason: reply.left }))]
  }

  private control(connection: Inbound, body: Buffer): boolean {
    if (body.length < 5) return false
    const id = body.readUInt32BE(1)
    const payload = unpack(body.subarray(5))
    if (payload === undefined) return false
    const request = decodeControl(payload)
    if (Either.isLeft(request)) {
      this.reply(connection, id, [1, wire(new DecodeError({ address: this.node.node, messageTag: "control", reason: request.left.message }))])
      return true
    }
    const effect = this.node.control(request.right, connection) as Effect.Effect<unknown, unknown>
    Runtime.runFork(this.runtime)(
      Effect.matchEffect(effect, {
        onFailure: (error) => Effect.sync(() => this.reply(connection, id, [1, wire(error)])),
        onSuccess: (value) =>
          Effect.sync(() => {
            const encoded = encodeControlSuccess(request.right, value)
            this.reply(
              connection,
              id,
              Either.isRight(encoded)
                ? [0, encoded.right]
                : [1, wire(new DecodeError({ address: this.node.node, messageTag: request.right._tag, reason: encoded.left }))]
            )
          })
      })
    )
    return true
  }
}

/**
 * Serves a node on a transport until the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serve = (
  node: Node,
  transport: Transport.Service,
  options: { readonly host: string; readonly port: number; readonly limits: Limits; readonly token: string | undefined }
): Effect.Effect<{ readonly port: number; readonly server: Server }, SocketServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.interruptible(Effect.runtime<never>())
    const server = new Server(node, options.limits, options.token, runtime, yield* Effect.clock)
    server.tracer = yield* currentTracer
    yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
    // On the Clock of the caller, so a TestClock drives the handshake and idle timeouts.
    yield* Effect.forkScoped(Effect.interruptible(
      Effect.repeat(Effect.sync(() => server.sweep()), Schedule.spaced(Duration.millis(server.sweepEvery)))
    ))
    const listener = yield* transport.listen(options.host, options.port, (link) => server.accept(link))
    server.tlsRefused = listener.handshakeFailures
    return { port: listener.port, server }
  })
