/**
 * The gateway of a cluster node for callers outside the cluster
 * (`ClusterClient`): an actor (`ea.gateway`, on every node) whose protocol
 * is a few Schema requests, asked over the ordinary remoting wire. It
 * answers the member view, spawns by kind with a placement and finds names
 * in the directory; everything else (tells, asks, stops, grains) the client
 * sends to the owner node directly.
 *
 * @internal
 */
import { Effect, Option, Schema } from "effect"
import * as Actor from "../../Actor.js"
import * as Address from "../../Address.js"
import { ActorError, NodeUnreachable } from "../../Errors.js"
import type { Service } from "../Cluster.js"

/** The name of each node's gateway actor. */
export const gatewayName = "ea.gateway"

/** A member as the client sees it. */
export const MemberInfo = Schema.Struct({
  nodeId: Schema.String,
  epoch: Schema.Number,
  /** `system@host:port`. */
  address: Schema.String,
  kinds: Schema.Array(Schema.String),
  roles: Schema.Array(Schema.String),
  status: Schema.String
})
export type MemberInfo = typeof MemberInfo.Type

/** The live members (`up` or `leaving`), oldest first. */
export class Members extends Schema.TaggedRequest<Members>()("Members", {
  payload: {},
  success: Schema.Array(MemberInfo),
  failure: ActorError
}) {}

/** Spawns a kind where a placement says (none: as `spawnKind`); answers the actor's address. */
export class SpawnOn extends Schema.TaggedRequest<SpawnOn>()("SpawnOn", {
  payload: {
    kind: Schema.String,
    name: Schema.String,
    placement: Schema.optional(Schema.Literal("round-robin", "random", "local", "least-load")),
    node: Schema.optional(Schema.String),
    role: Schema.optional(Schema.String)
  },
  success: Schema.String,
  failure: ActorError
}) {}

/** The address of the live actor holding a name anywhere in the cluster, or null. */
export class Whereis extends Schema.TaggedRequest<Whereis>()("Whereis", {
  payload: { name: Schema.String },
  success: Schema.NullOr(Schema.String),
  failure: ActorError
}) {}

/** The gateway actor of a node's cluster. */
export const make = (
  cluster: Service,
  nodeId: string,
  here: { readonly system: string; readonly host: string; readonly port: number }
) => {
  /** A PID's address as seen from outside this process (a local one gets this node's host and port). */
  const outside = (address: Address.Address) =>
    (address.host === "" ? Address.make({ ...here, path: address.path }) : address).toString()
  const unreachable = (error: { readonly message: string }) => new NodeUnreachable({ node: nodeId, reason: error.message })
  return Actor.make("effect-actors/ClusterGateway", {
    protocol: [Members, SpawnOn, Whereis],
    passivateAfter: "never",
    receive: {
      Members: () =>
        Effect.map(cluster.nodes, (members) =>
          members.map((m) => ({
            nodeId: m.nodeId,
            epoch: m.epoch,
            address: m.address,
            kinds: m.kinds,
            roles: m.roles,
            status: m.status
          }))),
      SpawnOn: (request) => {
        const placement = request.node !== undefined ? { node: request.node } : request.placement
        return Effect.map(
          cluster.spawnOn(request.kind, request.name, {
            ...(placement === undefined ? {} : { placement }),
            ...(request.role === undefined ? {} : { role: request.role })
          }),
          (pid) => outside(pid.address)
        )
      },
      Whereis: (request) =>
        Effect.mapBoth(cluster.lookup(request.name), {
          onFailure: unreachable,
          onSuccess: (pid) => Option.match(pid, { onNone: () => null, onSome: (found) => outside(found.address) })
        })
    }
  })
}
