/**
 * The node-to-node protocol: one `@effect/rpc` `RpcGroup` that every node
 * serves and every client speaks.
 *
 * Messages travel as their `effect/Schema` encoding. Tells travel in batches:
 * `Deliver` carries many tells as one pre-encoded msgpack blob (see
 * `Codec.ts`), so the rpc layer copies bytes instead of walking every
 * message with its own Schema, which is what makes remote tells fast (the
 * per-call cost of @effect/rpc is about 0.2 ms; one call carries thousands of
 * tells). Every other call is one rpc call.
 *
 * Failures cross the wire as themselves: every framework error is a
 * `Schema.TaggedError`, and the calls' error schema is their union
 * (`Errors.ActorError`), so the caller gets back the same classes.
 *
 * @example
 * ```ts
 * import { RpcClient } from "@effect/rpc"
 * import { Protocol } from "effect-actors/Remoting"
 * // const client = yield* RpcClient.make(Protocol.RemotingRpcs)
 * // const info = yield* client.NodeInfo({})
 * ```
 * @since 0.1.0
 */
import { Rpc, RpcGroup, RpcMiddleware } from "@effect/rpc"
import { Schema } from "effect"
import { ActorError } from "../Errors.js"

/**
 * The header that carries the shared token when the node asks for one.
 *
 * @since 0.1.0
 * @category constants
 */
export const tokenHeader = "x-effect-actors-token"

/**
 * Checks the shared token of every call (a pass-through when no token is
 * configured).
 *
 * @since 0.1.0
 * @category middleware
 */
export class TokenAuth extends RpcMiddleware.Tag<TokenAuth>()("effect-actors/Remoting/TokenAuth", {
  failure: ActorError
}) {}

/**
 * What `NodeInfo` answers: the node's identity, its actor count and the
 * kinds it can spawn.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NodeInfo = Schema.Struct({
  system: Schema.String,
  host: Schema.String,
  port: Schema.Number,
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
 * The node-to-node calls.
 *
 * - `Deliver`: a batch of tells (`Codec.encodeBatch`), delivered in order.
 * - `Ask`: one request; the reply is the request's encoded `Exit`.
 * - `Lookup`, `Spawn`, `Respawn`, `Stop`: by actor name (or `parent/child` path).
 * - `Watch`, `Unwatch`: a remote watcher (by address) of a local actor;
 *   `Terminated` tells the watcher's node that a watched actor stopped.
 * - `Metrics`: an actor's counters.
 * - `NodeInfo`: actor count and registered kinds (used by probes and the cluster).
 *
 * @since 0.1.0
 * @category protocol
 */
export class RemotingRpcs extends RpcGroup.make(
  Rpc.make("Deliver", {
    payload: { batch: Schema.Uint8ArrayFromSelf },
    error: ActorError
  }),
  Rpc.make("Ask", {
    payload: {
      to: Schema.String,
      from: Schema.String,
      message: Schema.Unknown,
      timeoutMillis: Schema.Number
    },
    success: Schema.Unknown,
    error: ActorError
  }),
  Rpc.make("Lookup", {
    payload: { name: Schema.String },
    success: Schema.NullOr(Schema.Struct({ address: Schema.String, kind: Schema.String })),
    error: ActorError
  }),
  Rpc.make("Spawn", {
    payload: { kind: Schema.String, name: Schema.String },
    success: Schema.String,
    error: ActorError
  }),
  Rpc.make("Respawn", {
    payload: { name: Schema.String },
    error: ActorError
  }),
  Rpc.make("Stop", {
    payload: { name: Schema.String, kill: Schema.Boolean },
    error: ActorError
  }),
  Rpc.make("Watch", {
    payload: { target: Schema.String, watcher: Schema.String },
    success: Schema.Boolean,
    error: ActorError
  }),
  Rpc.make("Unwatch", {
    payload: { target: Schema.String, watcher: Schema.String },
    error: ActorError
  }),
  Rpc.make("Terminated", {
    payload: { watcher: Schema.String, address: Schema.String, reason: Schema.String },
    error: ActorError
  }),
  Rpc.make("Metrics", {
    payload: { name: Schema.String },
    success: ActorMetrics,
    error: ActorError
  }),
  Rpc.make("NodeInfo", {
    success: NodeInfo,
    error: ActorError
  })
).middleware(TokenAuth) {}
