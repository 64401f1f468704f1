/**
 * What a dashboard shows, as Schemas: one node's report travels between
 * nodes (a reply over remoting) and the whole snapshot goes out as JSON.
 *
 * @internal
 */
import { Schema } from "effect"

/** The last failure of an actor (a restart, a suspension or a stop on error). */
export const Failure = Schema.Struct({
  /** When it happened (epoch ms, the node's clock). */
  at: Schema.Number,
  error: Schema.String
})

/** One actor of a node. */
export const ActorReport = Schema.Struct({
  /** Its name, or `parent/child` path. */
  name: Schema.String,
  address: Schema.String,
  kind: Schema.String,
  mailbox: Schema.Number,
  processed: Schema.Number,
  /** Messages processed per second over the last sampling interval. */
  perSecond: Schema.Number,
  restarts: Schema.Number,
  lastFailure: Schema.NullOr(Failure),
  /** When it passivates if nothing arrives (epoch ms), `null` when it has no idle countdown running. */
  passivatesAt: Schema.NullOr(Schema.Number),
  /** Its directory fence (cluster actors). */
  fence: Schema.NullOr(Schema.Number)
})

/** A deadletter, as shown. */
export const DeadletterReport = Schema.Struct({
  at: Schema.Number,
  recipient: Schema.String,
  sender: Schema.NullOr(Schema.String),
  /** The message's `_tag`, or `?`. */
  tag: Schema.String,
  reason: Schema.String
})

/** A schedule of the node's `Scheduler`. */
export const ScheduleReport = Schema.Struct({
  reference: Schema.String,
  target: Schema.String,
  messageTag: Schema.String,
  /** `once 5s`, `every 1s`, `cron 0 0 * * * * (UTC)`. */
  trigger: Schema.String,
  paused: Schema.Boolean,
  nextFireAt: Schema.NullOr(Schema.Number),
  fired: Schema.Number
})

/** A grain (virtual actor) resident on the node. */
export const GrainReport = Schema.Struct({
  /** The grain type. */
  kind: Schema.String,
  /** Its identity within the type. */
  key: Schema.String,
  /** The actor that runs it. */
  address: Schema.String,
  /** When it was activated (epoch ms). */
  activatedAt: Schema.Number,
  /** When it deactivates if idle (epoch ms), if known. */
  deactivatesAt: Schema.NullOr(Schema.Number)
})

/** What one node reports about itself. */
export const LocalReport = Schema.Struct({
  /** The actor system's name. */
  system: Schema.String,
  /** `host:port` of its remoting, "" without. */
  address: Schema.String,
  at: Schema.Number,
  /** Live actors (all of them; `actors` holds at most `maxActors`). */
  actorCount: Schema.Number,
  actors: Schema.Array(ActorReport),
  truncated: Schema.Boolean,
  processed: Schema.Number,
  processedPerSecond: Schema.Number,
  deadletters: Schema.Struct({
    total: Schema.Number,
    perSecond: Schema.Number,
    latest: Schema.Array(DeadletterReport)
  }),
  schedules: Schema.Array(ScheduleReport),
  grains: Schema.Array(GrainReport)
})

/** A name the cluster directory gives to a node (what is known of a node that does not answer). */
export const DirectoryEntry = Schema.Struct({ name: Schema.String, kind: Schema.String, fence: Schema.Number })

/** One node, as the dashboard sees it. */
export const NodeReport = Schema.Struct({
  nodeId: Schema.String,
  /** Its incarnation (`null` outside a cluster). */
  epoch: Schema.NullOr(Schema.Number),
  /** `up`, `leaving`, `suspended` (this node only), or `standalone` outside a cluster. */
  status: Schema.String,
  address: Schema.String,
  roles: Schema.Array(Schema.String),
  kinds: Schema.Array(Schema.String),
  /** Milliseconds since its last lease renewal (store clock), `null` outside a cluster. */
  leaseAgeMs: Schema.NullOr(Schema.Number),
  /** Milliseconds until its lease expires (store clock). */
  leaseExpiresInMs: Schema.NullOr(Schema.Number),
  self: Schema.Boolean,
  /** Whether it answered (its report is then in `report`). */
  reachable: Schema.Boolean,
  /** Why it did not answer. */
  error: Schema.NullOr(Schema.String),
  report: Schema.NullOr(LocalReport),
  /** The names the directory says it holds (filled when it did not answer). */
  directory: Schema.Array(DirectoryEntry)
})

/** The whole view: every live node with its report. */
export const Snapshot = Schema.Struct({
  at: Schema.Number,
  /** The node that answered. */
  self: Schema.String,
  cluster: Schema.Boolean,
  nodes: Schema.Array(NodeReport)
})

export type Failure = typeof Failure.Type
export type ActorReport = typeof ActorReport.Type
export type DeadletterReport = typeof DeadletterReport.Type
export type ScheduleReport = typeof ScheduleReport.Type
export type GrainReport = typeof GrainReport.Type
export type LocalReport = typeof LocalReport.Type
export type DirectoryEntry = typeof DirectoryEntry.Type
export type NodeReport = typeof NodeReport.Type
export type Snapshot = typeof Snapshot.Type

/** An operation of the dashboard (tell, ask, stop, drain) that could not be done. */
export class OperationFailed extends Schema.TaggedError<OperationFailed>()("OperationFailed", {
  /** `tell`, `ask`, `stop`, `drain`, `lookup`. */
  operation: Schema.String,
  /** The actor name or node id it was aimed at. */
  target: Schema.String,
  reason: Schema.String,
  /** The HTTP status it maps to (400 bad input, 404 not found, 502 a node did not answer). */
  status: Schema.Number
}) {
  override get message(): string {
    return `${this.operation} ${this.target} failed: ${this.reason}`
  }
}
