/**
 * Message protocols and the framework's own system messages.
 *
 * A protocol is a list of `effect/Schema` classes: `Schema.TaggedClass` for
 * messages that are told, `Schema.TaggedRequest` for messages that are asked
 * (the request's schema types the reply and its failure).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import type { Resolver } from "./Pid.js"

/**
 * One message schema of a protocol: a tagged class or a tagged request. Its
 * fields may hold PIDs (`Pid.schema`), whose decoding needs `Pid.Resolver`.
 *
 * @since 0.1.0
 * @category models
 */
export type MessageSchema = Schema.Schema<any, any, Resolver> & { readonly _tag: string }

/**
 * A protocol: the message schemas an actor understands.
 *
 * @since 0.1.0
 * @category models
 */
export type Protocol = ReadonlyArray<MessageSchema>

/**
 * The union of the message types of a protocol.
 *
 * @since 0.1.0
 * @category type-level
 */
export type MessageOf<P extends Protocol> = Schema.Schema.Type<P[number]>

/**
 * Any message: every protocol message has a string `_tag`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Tagged {
  readonly _tag: string
}

/**
 * The messages of `M` that are requests (they can be asked). For an untyped
 * PID (`Pid<Tagged>`, from `lookup`) any request can be asked; the tag is
 * checked at run time.
 *
 * @since 0.1.0
 * @category type-level
 */
export type RequestOf<M> = Tagged extends M ? Tagged & Schema.WithResult.All : Extract<M, Schema.WithResult.All>

/**
 * The reply type of a message: the request's success, or `void` for a tell.
 *
 * @since 0.1.0
 * @category type-level
 */
export type ReplyOf<M> = M extends Schema.WithResult.All ? Schema.WithResult.Success<M> : void

/**
 * The failure type of a request (`never` for a tell).
 *
 * @since 0.1.0
 * @category type-level
 */
export type FailureOf<M> = M extends Schema.WithResult.All ? Schema.WithResult.Failure<M> : never

/**
 * Stops the actor once every message before it has been processed. Messages
 * sent after it go to deadletters.
 *
 * @example
 * ```ts
 * import { Pid } from "effect-actors"
 * // yield* Pid.poisonPill(pid) // tells Message.poisonPill
 * ```
 * @since 0.1.0
 * @category system messages
 */
export class PoisonPill extends Schema.TaggedClass<PoisonPill>()("PoisonPill", {}) {}

/**
 * The shared PoisonPill instance.
 *
 * @since 0.1.0
 * @category system messages
 */
export const poisonPill: PoisonPill = new PoisonPill()

/**
 * Delivered to every watcher of an actor when it stops. Handle it with a
 * `Terminated` entry in the actor's handlers.
 *
 * @example
 * ```ts
 * // receive: { ..., Terminated: (msg, ctx) => Effect.log(`${msg.address} stopped: ${msg.reason}`) }
 * ```
 * @since 0.1.0
 * @category system messages
 */
export class Terminated extends Schema.TaggedClass<Terminated>()("Terminated", {
  address: Schema.String,
  reason: Schema.String
}) {}

/**
 * The system messages every actor understands besides its protocol.
 *
 * @since 0.1.0
 * @category system messages
 */
export type SystemMessage = PoisonPill | Terminated

/** @internal */
export const isRequest = (message: unknown): message is Schema.WithResult.Any =>
  typeof message === "object" && message !== null && Schema.symbolWithResult in message
