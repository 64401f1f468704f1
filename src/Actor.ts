/**
 * Defining actors.
 *
 * An actor is defined once, from its protocol (a list of `effect/Schema`
 * classes), an initial state, and handlers keyed by message tag. A handler for
 * a `Schema.TaggedRequest` returns the reply (its typed failure goes back to
 * the asker); a handler for a `Schema.TaggedClass` returns nothing. Handlers
 * may need Effect services: the spawner provides them.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Actor } from "effect-actors"
 *
 * class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
 * class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
 *   payload: {}, success: Schema.Number, failure: Schema.Never
 * }) {}
 *
 * const Counter = Actor.make("Counter", {
 *   protocol: [Increment, GetCount],
 *   initialState: () => 0,
 *   receive: {
 *     Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
 *     GetCount: (_, ctx) => ctx.get
 *   }
 * })
 * ```
 * @since 0.1.0
 */
import type { Duration, Effect, Option, Schema } from "effect"
import type { Address } from "./Address.js"
import type { SpawnError, StashFull, TellError, UnknownMessage } from "./Errors.js"
import type { MailboxFactory } from "./Mailbox.js"
import type { MessageOf, Protocol, ReplyOf, RequestOf, Tagged, Terminated } from "./Message.js"
import type { Pid } from "./Pid.js"
import type { Strategy } from "./Supervisor.js"

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("effect-actors/Actor")

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * The handler of one message: returns the reply for a request, nothing for a
 * tell.
 *
 * @since 0.1.0
 * @category models
 */
export type Handler<X, M extends Tagged, S, R> = (
  message: X,
  ctx: ReceiveContext<M, S, R>
) => Effect.Effect<HandlerResult<X>, unknown, R>

/**
 * What a handler may succeed with: for a request, its reply (or `Handoff`
 * when `forward`, `stash` or `respond` took care of it); for a tell, anything
 * (it is ignored).
 *
 * @since 0.1.0
 * @category type-level
 */
export type HandlerResult<X> = X extends Schema.WithResult.All ? Schema.WithResult.Success<X> | Handoff : unknown

/**
 * What `ctx.forward`, `ctx.stash` and `ctx.respond` succeed with: the reply
 * to the current request was handed off (to another actor, to later, or
 * already sent), so a request's handler may end with it instead of a reply.
 *
 * @example
 * ```ts
 * // receive: { Get: (msg, ctx) => ctx.forward(replica) } // the replica answers the asker
 * ```
 * @since 0.1.0
 * @category models
 */
export const Handoff: unique symbol = Symbol.for("effect-actors/Actor/Handoff")

/**
 * @since 0.1.0
 * @category models
 */
export type Handoff = typeof Handoff

/**
 * A behaviour: one handler per message tag, and optionally `Terminated` for
 * watched actors. `become` swaps the whole behaviour; a tag missing from a
 * behaviour given to `become` is unhandled (a deadletter).
 *
 * @since 0.1.0
 * @category models
 */
export type Behavior<M extends Tagged, S, R> =
  & { readonly [K in M["_tag"]]: Handler<Extract<M, { readonly _tag: K }>, M, S, R> }
  & { readonly Terminated?: Handler<Terminated, M, S, R> }

/**
 * A behaviour that may leave tags out (for `become`).
 *
 * @since 0.1.0
 * @category models
 */
export type PartialBehavior<M extends Tagged, S, R> =
  & { readonly [K in M["_tag"]]?: Handler<Extract<M, { readonly _tag: K }>, M, S, R> }
  & { readonly Terminated?: Handler<Terminated, M, S, R> }

/**
 * Per-spawn settings; each overrides the definition's and the system's.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnOptions {
  /** The mailbox (default: the system's, unbounded unless set). */
  readonly mailbox?: MailboxFactory
  /** How failures are handled (default: the parent's, else the system's). */
  readonly supervisor?: Strategy
  /** Stop the actor after this long without a message, or never. */
  readonly passivateAfter?: Duration.DurationInput | "never"
  /** How many messages `stash` may hold (default: the system's). */
  readonly stashCapacity?: number
}

/**
 * What a handler sees: the actor itself, the sender, the state, and the
 * operations that act on this actor. Every operation is an Effect and takes
 * hold when it runs.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReceiveContext<M extends Tagged, S, R = never> {
  /** This actor. */
  readonly self: Pid<M>
  /** The sender of the current message, when an actor sent it. */
  readonly sender: Option.Option<Pid>
  /** The current state. */
  readonly state: S
  /** Reads the state. */
  readonly get: Effect.Effect<S>
  /** Replaces the state. */
  set(state: S): Effect.Effect<void>
  /** Updates the state. */
  update(f: (state: S) => S): Effect.Effect<void>
  /** Updates the state and returns a value. */
  modify<A>(f: (state: S) => readonly [A, S]): Effect.Effect<A>
  /** Replies to the current request now (the handler's own result is then ignored). */
  respond(reply: ReplyOf<RequestOf<M>>): Effect.Effect<Handoff>
  /** Spawns a child; it stops when this actor stops. */
  spawnChild<M2 extends Tagged, S2, R2>(
    definition: Definition<M2, S2, R2>,
    name: string,
    options?: SpawnOptions
  ): Effect.Effect<Pid<M2>, SpawnError, R2>
  /** The live children. */
  readonly children: Effect.Effect<ReadonlyArray<Pid>>
  /** Stops an actor (a child, or this one): waits for it unless it is this actor. */
  stop(pid: Pid<never>): Effect.Effect<void>
  /** Receive `Terminated` when `pid` stops. */
  watch(pid: Pid<never>): Effect.Effect<void>
  /** Cancel a watch. */
  unwatch(pid: Pid<never>): Effect.Effect<void>
  /** Sends the current message to deadletters (it is not for us). */
  unhandled(): Effect.Effect<void>
  /** Replaces the behaviour from the next message on. */
  become(behavior: PartialBehavior<M, S, R>): Effect.Effect<void>
  /** Returns to the definition's `receive`. */
  readonly unbecome: Effect.Effect<void>
  /** Pushes a behaviour; `unbecomeStacked` pops it. */
  becomeStacked(behavior: PartialBehavior<M, S, R>): Effect.Effect<void>
  /** Pops the behaviour pushed last. */
  readonly unbecomeStacked: Effect.Effect<void>
  /** Sets the current message aside (it is replied to later, after `unstash`). */
  readonly stash: Effect.Effect<Handoff, StashFull>
  /** Puts back the oldest stashed message, ahead of newer ones. */
  readonly unstash: Effect.Effect<void>
  /** Puts back every stashed message, in arrival order, ahead of newer ones. */
  readonly unstashAll: Effect.Effect<void>
  /** Sends the current message on to another actor, keeping its original sender (and asker). */
  forward(to: Pid<M>): Effect.Effect<Handoff, TellError | UnknownMessage>
  /**
   * Runs `effect` in the background and tells its success, mapped to a message,
   * to `to` (this actor by default); a failure is told through `onFailure`, or
   * published as a deadletter. Interrupted when this actor stops.
   */
  pipeTo<A, E, M2 extends Tagged = M>(
    effect: Effect.Effect<A, E, R>,
    options: {
      readonly to?: Pid<M2>
      readonly onSuccess: (a: A) => M2
      readonly onFailure?: (e: E) => M2
    }
  ): Effect.Effect<void>
  /** The address of this actor. */
  readonly address: Address
  /**
   * In a cluster, the fence of this actor's name: a number drawn from one
   * cluster-wide counter each time the name changes owner, so a later owner
   * always holds a larger one. Guard writes to outside storage with it
   * (`UPDATE ... WHERE fence <= $fence`) and a stale owner's writes are
   * refused. `None` outside a cluster and for children.
   */
  readonly fence: Option.Option<number>
}

/**
 * An actor definition: `M` the messages it accepts, `S` its state, `R` the
 * services its handlers need.
 *
 * @since 0.1.0
 * @category models
 */
export interface Definition<M extends Tagged, S, R> {
  readonly [TypeId]: TypeId
  /** The kind's name (used for remote spawn). */
  readonly kind: string
  /** The message schemas. */
  readonly protocol: Protocol
  /** The message tags, for run-time checks of untyped sends. */
  readonly tags: ReadonlySet<string>
  readonly initialState: () => S
  readonly receive: Behavior<M, S, R>
  readonly preStart: ((ctx: ReceiveContext<M, S, R>) => Effect.Effect<void, unknown, R>) | undefined
  readonly postStop: ((ctx: ReceiveContext<M, S, R>) => Effect.Effect<void, unknown, R>) | undefined
  readonly options: SpawnOptions
  /**
   * Handles every message the current behaviour has no handler for. When set
   * the protocol is open: the actor accepts any tagged message, whatever
   * `tags` says (`TestKit` probes record whatever they are sent this way).
   * `Actor.make` leaves it unset.
   */
  readonly receiveAny?: ((message: Tagged, ctx: ReceiveContext<M, S, R>) => Effect.Effect<unknown, unknown, R>) | undefined
}

/**
 * The services a definition's handlers need.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Context<D> = D extends Definition<infer _M, infer _S, infer R> ? R : never

/**
 * The messages a definition accepts.
 *
 * @since 0.1.0
 * @category type-level
 */
export type Messages<D> = D extends Definition<infer M, infer _S, infer _R> ? M : never

/**
 * The services one handler needs. A handler that only throws returns
 * `never`, which would infer as needing `unknown` (every service) and make
 * the spawn fail to type-check far from the cause: it needs none.
 */
type HandlerContext<F> = F extends (...args: ReadonlyArray<never>) => infer Out
  ? [Out] extends [never] ? never : Out extends Effect.Effect<infer _A, infer _E, infer R> ? R : never
  : never

type HandlersContext<H> = { [K in keyof H]-?: HandlerContext<H[K]> }[keyof H]

const reservedTags = new Set(["PoisonPill", "Terminated"])

/**
 * Defines an actor kind.
 *
 * `preStart` runs before the first message (its failure fails the spawn),
 * `postStop` exactly once when the actor stops. `initialState` is called at
 * spawn and on every restart.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Actor } from "effect-actors"
 *
 * class Greet extends Schema.TaggedRequest<Greet>()("Greet", {
 *   payload: { name: Schema.String }, success: Schema.String, failure: Schema.Never
 * }) {}
 *
 * const Greeter = Actor.make("Greeter", {
 *   protocol: [Greet],
 *   receive: { Greet: (msg) => Effect.succeed(`Hello, ${msg.name}!`) }
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const P extends Protocol,
  H extends Behavior<MessageOf<P>, S, unknown>,
  S = void,
  RPre = never,
  RPost = never
>(
  kind: string,
  options: {
    readonly protocol: P
    readonly initialState?: () => S
    readonly receive: H
    readonly preStart?: (ctx: ReceiveContext<MessageOf<P>, S, unknown>) => Effect.Effect<void, unknown, RPre>
    readonly postStop?: (ctx: ReceiveContext<MessageOf<P>, S, unknown>) => Effect.Effect<void, unknown, RPost>
  } & SpawnOptions
): Definition<MessageOf<P>, S, HandlersContext<H> | RPre | RPost> => {
  const tags = new Set<string>()
  for (const schema of options.protocol) {
    if (reservedTags.has(schema._tag)) {
      throw new TypeError(`Actor.make(${kind}): the tag ${schema._tag} is reserved for system messages`)
    }
    tags.add(schema._tag)
  }
  const { initialState, mailbox, passivateAfter, postStop, preStart, protocol, receive, stashCapacity, supervisor } =
    options
  const spawnOptions: SpawnOptions = {
    ...(mailbox !== undefined ? { mailbox } : {}),
    ...(supervisor !== undefined ? { supervisor } : {}),
    ...(passivateAfter !== undefined ? { passivateAfter } : {}),
    ...(stashCapacity !== undefined ? { stashCapacity } : {})
  }
  return {
    [TypeId]: TypeId,
    kind,
    protocol,
    tags,
    initialState: initialState ?? (() => undefined as S),
    receive: receive as never,
    preStart: preStart as never,
    postStop: postStop as never,
    options: spawnOptions
  }
}
