/**
 * A PID is the handle of an actor: its address and the way to reach it. It is
 * typed by the actor's messages, so sending a message the actor does not
 * speak is a compile error; a PID found by name (`lookup`) is untyped and
 * checks the tag at run time (`UnknownMessage`).
 *
 * Every operation is available as a method (`pid.tell(msg)`) and as a
 * pipeable function (`Pid.tell(pid, msg)` or `pid.pipe(Pid.tell(msg))`).
 *
 * @since 0.1.0
 */
import { Context, type Duration, Effect, type Equal, ParseResult, type Pipeable, Schema } from "effect"
import { dual } from "effect/Function"
import { type Address, schema as addressSchema } from "./Address.js"
import type { AskError, TellError, UnknownMessage } from "./Errors.js"
import type { FailureOf, MessageOf, Protocol, ReplyOf, RequestOf, Tagged } from "./Message.js"
import type { ActorMetrics } from "./Metrics.js"
import { poisonPill as thePoisonPill } from "./Message.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("effect-actors/Pid")

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * Options of an ask.
 *
 * @since 0.1.0
 * @category models
 */
export interface AskOptions {
  /** How long to wait for the reply (default: the system's `askTimeout`). */
  readonly timeout?: Duration.DurationInput
}

/**
 * The handle of an actor that accepts messages of type `M`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * // const pid = yield* system.spawn(Counter, "counter")
 * // yield* pid.tell(new Increment({ by: 2 }))
 * // const n = yield* pid.ask(new GetCount())
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Pid<M = Tagged> extends Equal.Equal, Pipeable.Pipeable {
  readonly [TypeId]: TypeId
  /** Where the actor lives. */
  readonly address: Address
  /** The actor's name (the last segment of its address). */
  readonly name: string
  /** Sends a message without waiting. Fails at once if the actor stopped or its bounded mailbox is full. */
  tell(message: M): Effect.Effect<void, TellError | UnknownMessage>
  /** Sends a request and waits for the reply, typed by the request's schema. */
  ask<Q extends RequestOf<M>>(
    message: Q,
    options?: AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage>
  /** Tells every message in order; stops at the first refusal. */
  batchTell(messages: Iterable<M>): Effect.Effect<void, TellError | UnknownMessage>
  /** Asks every request and returns the replies in order; fails as a whole on the first failure. */
  batchAsk<Q extends RequestOf<M>>(
    messages: Iterable<Q>,
    options?: AskOptions
  ): Effect.Effect<Array<ReplyOf<Q>>, BatchAskError<Q>>
  /** Stops the actor gracefully: drains its mailbox (within the shutdown timeout), stops its children, runs `postStop`. */
  readonly stop: Effect.Effect<void>
  /** Stops the actor at once: what is left in its mailbox becomes deadletters. */
  readonly kill: Effect.Effect<void>
  /** Restarts the actor (children stopped, `postStop`, fresh state, `preStart`), keeping its mailbox and address. */
  readonly restart: Effect.Effect<void, AskError>
  /** Whether the actor is running. */
  readonly isAlive: Effect.Effect<boolean>
  /** A snapshot of the actor's counters (also exported to Effect's metric registry). */
  readonly metrics: Effect.Effect<ActorMetrics>
  /** This actor will receive `Terminated` when `target` stops. */
  watch(target: Pid<never>): Effect.Effect<void>
  /** Cancels a `watch`. */
  unwatch(target: Pid<never>): Effect.Effect<void>
}

/**
 * The error of a `batchAsk`: the first failure, with the index of the request
 * that failed.
 *
 * @since 0.1.0
 * @category errors
 */
export type BatchAskError<Q> = import("./Errors.js").BatchAskFailed<FailureOf<Q> | AskError | UnknownMessage>

/**
 * Whether a value is a PID.
 *
 * @since 0.1.0
 * @category guards
 */
export const isPid = (u: unknown): u is Pid<never> => typeof u === "object" && u !== null && TypeId in u

/**
 * Sends a message without waiting.
 *
 * @example
 * ```ts
 * import { Pid } from "effect-actors"
 * // yield* Pid.tell(counter, new Increment({ by: 1 }))
 * // yield* counter.pipe(Pid.tell(new Increment({ by: 1 })))
 * ```
 * @since 0.1.0
 * @category messaging
 */
export const tell: {
  <M>(message: NoInfer<M>): (self: Pid<M>) => Effect.Effect<void, TellError | UnknownMessage>
  <M>(self: Pid<M>, message: NoInfer<M>): Effect.Effect<void, TellError | UnknownMessage>
} = dual(2, <M>(self: Pid<M>, message: M) => self.tell(message))

/**
 * Sends a request and waits for its typed reply.
 *
 * @example
 * ```ts
 * import { Pid } from "effect-actors"
 * // const n = yield* Pid.ask(counter, new GetCount(), { timeout: "1 second" })
 * ```
 * @since 0.1.0
 * @category messaging
 */
export const ask: {
  <M, Q extends RequestOf<M>>(
    message: Q,
    options?: AskOptions
  ): (self: Pid<M>) => Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage>
  <M, Q extends RequestOf<M>>(
    self: Pid<M>,
    message: Q,
    options?: AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage>
} = dual(
  (args) => isPid(args[0]),
  <M, Q extends RequestOf<M>>(self: Pid<M>, message: Q, options?: AskOptions) => self.ask(message, options)
)

/**
 * Stops an actor gracefully and waits until it has stopped.
 *
 * @since 0.1.0
 * @category lifecycle
 */
export const stop = <M>(self: Pid<M>): Effect.Effect<void> => self.stop

/**
 * Sends a `PoisonPill`: the actor stops once every message told before the
 * pill has been processed; messages told after it become deadletters. Unlike
 * `stop`, which refuses new messages at once, the pill waits its turn in the
 * mailbox. A PID typed by its protocol does not take system messages in
 * `tell`, so this is how to send one.
 *
 * @example
 * ```ts
 * import { Pid } from "effect-actors"
 * // yield* counter.tell(new Increment({ by: 1 }))
 * // yield* Pid.poisonPill(counter) // the Increment is processed first
 * ```
 * @since 0.1.0
 * @category lifecycle
 */
export const poisonPill = <M>(self: Pid<M>): Effect.Effect<void, TellError> =>
  // Every actor accepts the pill whatever its protocol, so UnknownMessage cannot occur.
  (self as unknown as Pid<typeof thePoisonPill>).tell(thePoisonPill) as Effect.Effect<void, TellError>

/**
 * Turns an address into a live PID on this node: the local actor's PID when
 * the address is this node's, a remote PID (through remoting) otherwise;
 * `undefined` when no actor can be reached there (a local address with no
 * live actor, or a remote one on a node without remoting). It never opens a
 * connection: a remote PID connects when something is first sent through it.
 *
 * `Pid.schema` needs it to decode. `ActorSystem.layer` provides it, and
 * remoting provides it where messages arrive from other nodes.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Pid } from "effect-actors"
 * // const pid = yield* Schema.decode(Pid.schema())("effect-actors://shop/cart") // needs Pid.Resolver
 * ```
 * @since 0.1.0
 * @category services
 */
export class Resolver extends Context.Tag("effect-actors/Pid/Resolver")<Resolver, {
  readonly resolve: (address: Address) => Pid<Tagged> | undefined
}>() {}

const pidDeclaration = Schema.declare((u: unknown): u is Pid<never> => isPid(u), { identifier: "Pid" })

const pidSchema: Schema.Schema<Pid<never>, string, Resolver> = Schema.transformOrFail(addressSchema, pidDeclaration, {
  strict: true,
  decode: (address, _, ast) =>
    Effect.flatMap(Resolver, (resolver) => {
      const pid = resolver.resolve(address)
      return pid === undefined
        ? Effect.fail(new ParseResult.Type(ast, String(address), `no actor can be reached at ${address}`))
        : Effect.succeed(pid as Pid<never>)
    }),
  encode: (pid) => ParseResult.succeed(pid.address)
}).annotations({ identifier: "PidFromAddress" })

/**
 * A PID as a message field: encoded as the actor's address, decoded on the
 * receiving node into a live PID (see `Resolver`), so an actor can be told
 * where to reply even across nodes. Typed by the protocol it accepts (or by
 * a message type: `Pid.schema<Notice>()`); without either it is untyped and
 * sends are checked at run time. Decoding needs `Pid.Resolver`, which
 * remoting provides where messages arrive; locally no encoding happens at
 * all, the PID travels as itself.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Pid } from "effect-actors"
 * class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Number }) {}
 * class Ping extends Schema.TaggedClass<Ping>()("Ping", { n: Schema.Number, replyTo: Pid.schema([Pong]) }) {}
 * // handler: Ping: (msg) => msg.replyTo.tell(new Pong({ n: msg.n }))
 * ```
 * @since 0.1.0
 * @category schemas
 */
export const schema: {
  <const P extends Protocol>(protocol: P): Schema.Schema<Pid<MessageOf<P>>, string, Resolver>
  <M = Tagged>(): Schema.Schema<Pid<M>, string, Resolver>
} = ((_protocol?: Protocol) => pidSchema) as unknown as typeof schema
