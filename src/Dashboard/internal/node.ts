/**
 * The dashboard of one node: its own report (from the sampler), the
 * cluster-wide snapshot (membership from this node's view, every other live
 * node's report asked from its reporter actor over the remoting wire, the
 * directory rows from the store for a node that does not answer), and the
 * operations, routed to the node that runs the actor.
 *
 * @internal
 */
import { Duration, Effect, Option } from "effect"
import * as ActorSystem from "../../ActorSystem.js"
import type * as Cluster from "../../Cluster/Cluster.js"
import type * as ClusterStore from "../../Cluster/ClusterStore.js"
import { parseNodeAddress } from "../../Cluster/internal/directory.js"
import type { Pid } from "../../Pid.js"
import * as Remoting from "../../Remoting/Remoting.js"
import type { SystemImpl } from "../../internal/system.js"
import type { DirectoryEntry, LocalReport, NodeReport, Snapshot } from "./model.js"
import { OperationFailed } from "./model.js"
import { Deliver, deliverLocal, describeError, Drain, Report, type reporter, reporterName } from "./operations.js"

export interface NodeSettings {
  readonly peerTimeout: Duration.Duration
}

/** Where an actor was found. */
export interface Location {
  readonly name: string
  readonly address: string
  /** `host:port` of the node that runs it ("" for a local actor without remoting). */
  readonly node: string
  readonly local: boolean
}

const reason = describeError

export class DashboardNode {
  constructor(
    readonly impl: SystemImpl,
    readonly system: ActorSystem.Service,
    /** This node's latest report. */
    readonly local: Effect.Effect<LocalReport>,
    readonly cluster: Option.Option<Cluster.Service>,
    readonly store: Option.Option<ClusterStore.Service>,
    readonly reporterDef: ReturnType<typeof reporter>,
    readonly settings: NodeSettings
  ) {}

  /** This node's id: its cluster node id, else its system's name. */
  get nodeId(): string {
    return Option.match(this.cluster, {
      onNone: () => this.impl.name,
      onSome: (cluster) => cluster.membership.config.nodeId
    })
  }

  private get address(): string {
    return this.impl.remote === undefined ? "" : `${this.impl.host}:${this.impl.port}`
  }

  /** The reporter actor of the node at `host:port`. */
  private peer(address: string): Effect.Effect<Pid<Report | Drain | Deliver>, OperationFailed> {
    const node = parseNodeAddress(address)
    if (node === undefined || this.impl.remote === undefined) {
      return Effect.fail(
        new OperationFailed({ operation: "reach", target: address, reason: "no remoting address", status: 502 })
      )
    }
    return Remoting.pid({ host: node.host, port: node.port, name: reporterName }, this.reporterDef).pipe(
      Effect.provideService(ActorSystem.ActorSystem, this.system),
      Effect.mapError((error) => new OperationFailed({ operation: "reach", target: address, reason: reason(error), status: 502 }))
    ) as Effect.Effect<Pid<Report | Drain | Deliver>, OperationFailed>
  }

  private askPeer<A>(
    address: string,
    operation: string,
    target: string,
    request: Report | Drain | Deliver,
    timeout: Duration.Duration
  ): Effect.Effect<A, OperationFailed> {
    return Effect.flatMap(this.peer(address), (pid) =>
      Effect.mapError(
        pid.ask(request as never, { timeout }) as Effect.Effect<A, unknown>,
        (error) =>
          error instanceof OperationFailed
            ? error
            : new OperationFailed({ operation, target, reason: reason(error), status: 502 })
      ))
  }

  /** Every live node with its report. */
  readonly snapshot: Effect.Effect<Snapshot> = Effect.suspend(() => {
    const cluster = this.cluster
    if (Option.isNone(cluster)) {
      return Effect.map(this.local, (report): Snapshot => ({
        at: report.at,
        self: this.nodeId,
        cluster: false,
        nodes: [{
          nodeId: this.nodeId,
          epoch: null,
          status: "standalone",
          address: this.address,
          roles: [],
          kinds: [],
          leaseAgeMs: null,
          leaseExpiresInMs: null,
          self: true,
          reachable: true,
          error: null,
          report,
          directory: []
        }]
      }))
    }
    return this.clusterSnapshot(cluster.value)
  })

  private clusterSnapshot(cluster: Cluster.Service): Effect.Effect<Snapshot> {
    const membership = cluster.membership
    return Effect.gen(this, function*() {
      const view = yield* membership.view.get
      const self = yield* cluster.self
      const state = yield* membership.state.get
      const ttl = Duration.toMillis(membership.config.ttl)
      const live = view.members.filter((member) => member.status === "up" || member.status === "leaving")
      const nodes = yield* Effect.forEach(live, (member): Effect.Effect<NodeReport> => {
        const isSelf = member.nodeId === self.nodeId && member.epoch === self.epoch
        const expiresIn = member.expiresAt - view.now
        const base = {
          nodeId: member.nodeId,
          epoch: member.epoch,
          status: isSelf && state === "suspended" ? "suspended" : member.status,
          address: member.address,
          roles: [...member.roles],
          kinds: [...member.kinds],
          leaseAgeMs: Math.max(0, ttl - expiresIn),
          leaseExpiresInMs: expiresIn,
          self: isSelf
        }
        const report = isSelf
          ? this.local
          : this.askPeer<LocalReport>(member.address, "report", member.nodeId, new Report(), this.settings.peerTimeout)
        return Effect.matchEffect(report, {
          onSuccess: (report) => Effect.succeed({ ...base, reachable: true, error: null, report, directory: [] }),
          onFailure: (error) =>
            Effect.map(this.directoryOf(member), (directory) => ({
              ...base,
              reachable: false,
              error: error.reason,
              report: null,
              directory
            }))
        })
      }, { concurrency: "unbounded" })
      return { at: this.impl.timers.now(), self: self.nodeId, cluster: true, nodes }
    })
  }

  /** What the store says a node holds (for a node that does not answer). */
  private directoryOf(member: ClusterStore.Incarnation): Effect.Effect<ReadonlyArray<DirectoryEntry>> {
    return Option.match(this.store, {
      onNone: () => Effect.succeed([]),
      onSome: (store) =>
        store.owned(member).pipe(
          Effect.map((entries) => entries.map((entry) => ({ name: entry.name, kind: entry.kind, fence: entry.fence }))),
          Effect.timeout(this.settings.peerTimeout),
          Effect.orElseSucceed(() => [])
        )
    })
  }

  /** Finds an actor by name: here, or anywhere in the cluster. */
  lookup(name: string): Effect.Effect<Location, OperationFailed> {
    return Effect.flatMap(this.find(name), (pid) => {
      if (pid.address.host !== "" && this.impl.lookup(name) === undefined) {
        // A remote answer may come from the directory's cache: ask the node that it still runs the actor.
        return Effect.flatMap(
          Effect.mapError(this.system.remoteLookup(pid.address), (error) =>
            new OperationFailed({ operation: "lookup", target: name, reason: reason(error), status: 502 })),
          Option.match({
            onNone: () =>
              Effect.fail(new OperationFailed({ operation: "lookup", target: name, reason: `no live actor named ${name}`, status: 404 })),
            onSome: (confirmed) => Effect.succeed(this.location(name, confirmed, false))
          })
        )
      }
      return Effect.succeed(this.location(name, pid, this.impl.lookup(name) !== undefined))
    })
  }

  private location(name: string, pid: Pid, local: boolean): Location {
    const address = pid.address
    return {
      name,
      address: address.toString(),
      node: address.host === "" ? "" : `${address.host}:${address.port}`,
      local
    }
  }

  private find(name: string): Effect.Effect<Pid, OperationFailed> {
    const missing = () =>
      new OperationFailed({ operation: "lookup", target: name, reason: `no live actor named ${name}`, status: 404 })
    const found = Option.match(this.cluster, {
      onNone: () => this.system.lookup(name),
      onSome: (cluster) =>
        Effect.catchAll(cluster.lookup(name), (error) =>
          Effect.fail(new OperationFailed({ operation: "lookup", target: name, reason: reason(error), status: 502 })))
    })
    return Effect.flatMap(found, Option.match({ onNone: () => Effect.fail(missing()), onSome: Effect.succeed }))
  }

  /** Decodes `json` with the actor's protocol on the node that runs it, and tells or asks it. */
  deliver(name: string, json: unknown, ask: boolean): Effect.Effect<unknown, OperationFailed> {
    if (this.impl.lookup(name) !== undefined) return deliverLocal(this.impl, name, json, ask)
    return Effect.flatMap(this.find(name), (pid) => {
      const address = pid.address
      if (address.host === "") return deliverLocal(this.impl, name, json, ask)
      const timeout = Duration.sum(Duration.millis(this.impl.askTimeoutMillis), this.settings.peerTimeout)
      return this.askPeer(
        `${address.host}:${address.port}`,
        ask ? "ask" : "tell",
        name,
        new Deliver({ name, message: json, ask }),
        timeout
      )
    })
  }

  /** Stops an actor by name, wherever it runs (its name is released). */
  stop(name: string): Effect.Effect<void, OperationFailed> {
    const failed = (error: unknown) =>
      new OperationFailed({
        operation: "stop",
        target: name,
        reason: reason(error),
        status: typeof error === "object" && error !== null && "_tag" in error && error._tag === "ActorNotFound"
          ? 404
          : 502
      })
    if (this.impl.lookup(name) !== undefined || Option.isNone(this.cluster) || name.includes("/")) {
      return Effect.mapError(this.system.stop(name), failed)
    }
    return Effect.mapError(this.cluster.value.stop(name), failed)
  }

  /** This node leaves the cluster gracefully (in the background). */
  readonly drainSelf: Effect.Effect<boolean, OperationFailed> = Effect.suspend(() =>
    Option.match(this.cluster, {
      onNone: () =>
        Effect.fail(
          new OperationFailed({ operation: "drain", target: this.nodeId, reason: "this node is not in a cluster", status: 400 })
        ),
      onSome: (cluster) => Effect.as(Effect.forkDaemon(cluster.leave), true)
    })
  )

  /** Drains a node of the cluster: it leaves gracefully and survivors adopt its actors. */
  drain(nodeId: string): Effect.Effect<boolean, OperationFailed> {
    if (nodeId === this.nodeId) return this.drainSelf
    return Option.match(this.cluster, {
      onNone: () => this.drainSelf,
      onSome: (cluster) =>
        Effect.flatMap(cluster.nodes, (members) => {
          const member = members.find((m) => m.nodeId === nodeId && m.status === "up")
          return member === undefined
            ? Effect.fail(
              new OperationFailed({ operation: "drain", target: nodeId, reason: `no live node ${nodeId}`, status: 404 })
            )
            : this.askPeer<boolean>(member.address, "drain", nodeId, new Drain(), this.settings.peerTimeout)
        })
    })
  }
}
