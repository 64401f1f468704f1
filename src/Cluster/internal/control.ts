/**
 * The protocol of each node's cluster control actor (`ea.cluster`): what
 * nodes ask of one another besides messages to actors.
 *
 * @internal
 */
import { Schema } from "effect"
import {
  ActorStopped,
  ClusterSuspended,
  InvalidArgument,
  InvalidName,
  KindNotRegistered,
  NameTaken,
  SpawnFailed
} from "../../Errors.js"
import * as Travel from "./travel.js"

/** The name of each node's control actor (spawned outside the directory: every node has one). */
export const controlName = "ea.cluster"

/** A hint to a node: look for orphans now (a peer just left and this node may be a target). */
export class RedeployNow extends Schema.TaggedClass<RedeployNow>()("RedeployNow", {
  nodeId: Schema.String,
  epoch: Schema.Number
}) {}

/**
 * Spawns a kind on the node asked, under a cluster claim, with the options
 * that travel with the name (`spawnKind` to a node picked by rendezvous
 * hashing); answers the actor's address.
 */
export class SpawnHere extends Schema.TaggedRequest<SpawnHere>()("SpawnHere", {
  payload: { kind: Schema.String, name: Schema.String, options: Travel.Travel },
  success: Schema.String,
  failure: Schema.Union(
    InvalidName,
    NameTaken,
    SpawnFailed,
    ActorStopped,
    ClusterSuspended,
    InvalidArgument,
    KindNotRegistered
  )
}) {}
