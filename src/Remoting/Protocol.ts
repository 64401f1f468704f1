/**
 * The node-to-node protocol: what travels in the frames of the wire.
 *
 * Tells and asks travel on the data plane (`Tells` and `Ask` frames, see
 * docs/remoting.md "On the wire"). Everything else is a control call: one
 * of the `Schema.TaggedRequest`s below, sent in a `Control` frame and
 * answered in a `Reply` frame with the request's success schema, or one of
 * the framework's errors (`Errors.ActorError`, their Schema union). Being Schema requests, control calls are validated on
 * arrival like any actor message and typed on both sides.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Protocol } from "effect-actors/Remoting"
 * const info = Schema.decodeUnknownSync(Protocol.ControlRequest)({ _tag: "NodeInfo" })
 * ```
 * @since 0.1.0
 */
import { type Either, Schema } from "effect"
import type { ParseError } from "effect/ParseResult"
import { ActorError } from "../Errors.js"

/**
 * What `NodeInfo` answers: the node's identity (with `epoch`, the time it
 * started, which changes when a node restarts on the same address), its
 * actor count and the kinds it can spawn.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NodeInfo = Schema.Struct({
  system: Schema.String,
  host: Schema.String,
  port: Schema.Number,
  epoch: Schema.Number,
  actors: Schema.Number,
  kinds: Schema.Array(Schema.String)
})

/**
 * @since 0.1.0
 * @category schemas
 */
export type NodeInfo = typeof NodeInfo.Type

/**
 * An actor's counters (`Pid.metrics`) on the wire.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ActorMetrics = Schema.Struct({
  address: Schema.String,
  processed: Schema.Number,
  mailboxSize: Schema.Number,
  restarts: Schema.Number,
  children: Schema.Number,
  stashSize: Schema.Number,
  lastProcessingMillis: Schema.OptionFromNullOr(Schema.Number)
})

/**
 * Finds an actor by name (or `parent/child` path): its address and kind, or null.
 *
 * @since 0.1.0
 * @category control
 */
export class Lookup extends Schema.TaggedRequest<Lookup>()("Lookup", {
  payload: { name: Schema.String },
  success: Schema.NullOr(Schema.Struct({ address: Schema.String, kind: Schema.String })),
  failure: ActorError
}) {}

/**
 * Spawns an actor of a registered kind; answers its address.
 *
 * @since 0.1.0
 * @category control
 */
export class Spawn extends Schema.TaggedRequest<Spawn>()("Spawn", {
  payload: { kind: Schema.String, name: Schema.String },
  success: Schema.String,
  failure: ActorError
}) {}

/**
 * Restarts an actor.
 *
 * @since 0.1.0
 * @category control
 */
export class Respawn extends Schema.TaggedRequest<Respawn>()("Respawn", {
  payload: { name: Schema.String },
  success: Schema.Void,
  failure: ActorError
}) {}

/**
 * Stops (or kills) an actor and waits for it.
 *
 * @since 0.1.0
 * @category control
 */
export class Stop extends Schema.TaggedRequest<Stop>()("Stop", {
  payload: { name: Schema.String, kill: Schema.Boolean },
  success: Schema.Void,
  failure: ActorError
}) {}

/**
 * Registers a watcher (an actor of the calling node) of a local actor; false
 * when the actor is not alive. `Terminated` comes back on the same
 * connection.
 *
 * @since 0.1.0
 * @category control
 */
export class Watch extends Schema.TaggedRequest<Watch>()("Watch", {
  payload: { target: Schema.String, watcher: Schema.String },
  success: Schema.Boolean,
  failure: ActorError
}) {}

/**
 * Cancels a watch.
 *
 * @since 0.1.0
 * @category control
 */
export class Unwatch extends Schema.TaggedRequest<Unwatch>()("Unwatch", {
  payload: { target: Schema.String, watcher: Schema.String },
  success: Schema.Void,
  failure: ActorError
}) {}

/**
 * An actor's counters.
 *
 * @since 0.1.0
 * @category control
 */
export class GetMetrics extends Schema.TaggedRequest<GetMetrics>()("Metrics", {
  payload: { name: Schema.String },
  success: ActorMetrics,
  failure: ActorError
}) {}

/**
 * The node's identity, actor count and registered kinds (probes use it).
 *
 * @since 0.1.0
 * @category control
 */
export class GetNodeInfo extends Schema.TaggedRequest<GetNodeInfo>()("NodeInfo", {
  payload: {},
  success: NodeInfo,
  failure: ActorError
}) {}

/**
 * Every control call.
 *
 * @since 0.1.0
 * @category control
 */
export const ControlRequest = Schema.Union(Lookup, Spawn, Respawn, Stop, Watch, Unwatch, GetMetrics, GetNodeInfo)

/**
 * @since 0.1.0
 * @category control
 */
export type ControlRequest = typeof ControlRequest.Type

/**
 * How what a control request answers is encoded (by the node) and decoded
 * (by the caller): its success schema, one per request tag.
 *
 * @since 0.1.0
 * @category control
 */
export interface SuccessCodec {
  readonly encode: (value: unknown) => Either.Either<unknown, ParseError>
  readonly decode: (encoded: unknown) => Either.Either<unknown, ParseError>
}

const successCodecs = new Map<string, SuccessCodec>()

/**
 * The codec of what `request` answers (built once per request tag).
 *
 * @example
 * ```ts
 * import { Protocol } from "effect-actors/Remoting"
 * const codec = Protocol.successCodec(new Protocol.Lookup({ name: "counter" }))
 * codec.decode(null) // Either.right(null): no actor holds that name
 * ```
 * @since 0.1.0
 * @category control
 */
export const successCodec = (request: ControlRequest): SuccessCodec => {
  let codec = successCodecs.get(request._tag)
  if (codec === undefined) {
    const schema = Schema.successSchema(request as unknown as Schema.WithResult.Any) as Schema.Schema<unknown, unknown>
    codec = { encode: Schema.encodeUnknownEither(schema), decode: Schema.decodeUnknownEither(schema) }
    successCodecs.set(request._tag, codec)
  }
  return codec
}
