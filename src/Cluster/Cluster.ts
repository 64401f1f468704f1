/**
 * The cluster: N nodes (processes on one host or on many machines) acting as
 * one actor system. A cluster-wide directory of names, each held by one node
 * under a fence; sends by name from any node; redeployment of a dead node's
 * actors by the survivors within seconds, without a leader; graceful leave.
 *
 * `Cluster.layer` sits on `ActorSystem` + `Remoting` and needs a
 * `ClusterStore` (memory, SQLite or PostgreSQL) and a `Discovery`; it builds
 * this node's `Membership` (lease, heartbeat, self-fencing) and provides it
 * too. With it, every top-level spawn of the system claims its name
 * cluster-wide before it returns (`NameTaken` carries the node that holds
 * it), a stop gives the name back, and `ActorSystem.lookup` finds names on
 * other nodes. Closing the layer leaves the cluster gracefully: actors drain,
 * their names go to the nodes that adopt them.
 *
 * See `docs/cluster.md`.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ActorSystem, Cluster, ClusterStore, Discovery, Remoting } from "effect-actors"
 *
 * const Node = Cluster.layer({ nodeId: "node-a", kinds: [Counter] }).pipe(
 *   Layer.provideMerge(Remoting.layer({ kinds: [Counter] })),
 *   Layer.provideMerge(ActorSystem.layer({ name: "shop" })),
 *   Layer.provide(ClusterStore.layerSqlite({ filename: "/var/lib/shop/cluster.db" })),
 *   Layer.provide(Discovery.layerStatic([]))
 * )
 *
 * const program = Effect.gen(function*() {
 *   const cluster = yield* Cluster.Cluster
 *   yield* cluster.spawn(Counter, "counter")               // unique in the whole cluster
 *   yield* cluster.sendAsync("counter", new Increment({ by: 1 })) // from any node
 *   const n = yield* cluster.sendSync("counter", new GetCount())
 * })
 * ```
 * @since 0.1.0
 */
import { Context, type Duration, Effect, Layer, type Option, type Schema, type Scope } from "effect"
import type * as Actor from "../Actor.js"
import { ActorSystem } from "../ActorSystem.js"
import type {
  ActorNotFound,
  AskError,
  InvalidArgument,
  KindNotRegistered,
  PlacementFailed,
  RemoteError,
  SpawnError,
  TellError,
  UnknownMessage
} from "../Errors.js"
import type { FailureOf, ReplyOf, Tagged } from "../Message.js"
import type * as Pid from "../Pid.js"
import { Remoting } from "../Remoting/Remoting.js"
import type { AnyDefinition } from "../internal/system.js"
import type { StoreUnavailable } from "./ClusterError.js"
import { ClusterStore, type Incarnation, type Member } from "./ClusterStore.js"
import { Discovery } from "./Discovery.js"
import * as Membership from "./Membership.js"
import * as internal from "./internal/node.js"

/**
 * The spawn options of a cluster actor that travel with its name: a node
 * that adopts it runs it with these. They are data (functions cannot travel):
 * a bounded mailbox's capacity, a supervision directive, a passivation delay,
 * the stash capacity, the role a node must have to run it, and whether
 * survivors adopt it at all.
 *
 * @example
 * ```ts
 * cluster.spawn(Worker, "worker-1", { mailboxCapacity: 1000, supervision: "restart", role: "gpu" })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface SpawnOptions {
  /** A bounded mailbox of this capacity (default: the system's mailbox). */
  readonly mailboxCapacity?: number
  /** Passivate after this many idle milliseconds, or never (default: the definition's, else the system's). */
  readonly passivateAfterMillis?: number | "never"
  /** What to do when a handler fails (default: the definition's, else the system's strategy). */
  readonly supervision?: "stop" | "resume" | "restart" | "escalate"
  /** How many messages the actor may stash. */
  readonly stashCapacity?: number
  /** Only nodes with this role run it (here, and after a redeployment). */
  readonly role?: string
  /** Whether survivors adopt it when its node dies (default: the cluster's `relocate`, true). */
  readonly relocate?: boolean
}

/**
 * How `spawnOn` picks the node of a spawn among the live members that run
 * the kind (and have its role):
 *
 * - `"round-robin"`: each spawn goes to the next member in node id order
 *   (each node walks the members starting after itself, so spawns from all
 *   nodes spread evenly over the cluster; no store call);
 * - `"random"`: a member drawn with Effect's `Random`;
 * - `"local"`: this node (it must run the kind and have the role);
 * - `"least-load"`: the member running the fewest actors now (asked over
 *   remoting with `NodeInfo`; members that do not answer are skipped);
 * - `{ node: "node-b" }`: that node.
 *
 * None fits: `PlacementFailed`, saying why.
 *
 * @example
 * ```ts
 * cluster.spawnOn("Worker", "w-1", { placement: "least-load", role: "gpu" })
 * ```
 * @since 0.1.0
 * @category models
 */
export type Placement = "round-robin" | "random" | "local" | "least-load" | { readonly node: string }

/**
 * The options of `spawnOn`: the traveling spawn options and a placement.
 *
 * @since 0.1.0
 * @category models
 */
export interface SpawnOnOptions extends SpawnOptions {
  /** How to pick the node (default: this node if it runs the kind, else rendezvous hashing on the name). */
  readonly placement?: Placement
}

/**
 * An actor definition of any protocol and state, as a kind a node can run.
 * (`any` as in Effect's own `Schema.Schema.Any`: a list of definitions with
 * different protocols and states has no narrower common type, since both
 * appear in and out of their handlers.)
 *
 * @since 0.1.0
 * @category models
 */
export type Kind<R = never> = Actor.Definition<any, any, R>

/**
 * Options of `Cluster.layer`: this node's membership settings (see
 * `Membership.Config`), the kinds it can run, and the cluster's timings.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<R = never> extends Omit<Membership.Config, "address" | "kinds"> {
  /**
   * The actor definitions this node can run, by kind: what it may adopt
   * when another node dies, and what `spawn(kind, ...)` starts here. Their
   * services come from this node's layers (dependencies never travel).
   */
  readonly kinds?: ReadonlyArray<Kind<R>>
  /** Whether this node's actors are adopted by survivors when it dies (default true; per actor: `SpawnOptions.relocate`). */
  readonly relocate?: boolean
  /** How long a send by name waits for a name that is moving (its node died, a spawn in flight) (10 s). */
  readonly relocationWait?: Duration.DurationInput
  /** After this long, any survivor adopts orphans their rendezvous target left (2 s). */
  readonly claimTimeout?: Duration.DurationInput
  /** How often orphans are looked for besides membership changes (500 ms). */
  readonly redeployInterval?: Duration.DurationInput
  /** How often the rows this node owns are compared with its running actors (5 s). */
  readonly reconcileInterval?: Duration.DurationInput
  /** Most names per store statement (claims, lookups, adoptions) (500). */
  readonly maxBatch?: number
  /**
   * The role a node must have to run a kind, by kind name (declare the same
   * on every node): spawns of the kind without a `role` of their own take it.
   * A node's own roles are `roles`.
   */
  readonly kindRoles?: { readonly [kind: string]: string }
  /** How this node runs grains (virtual actors, see `Service.grain`). */
  readonly grains?: GrainOptions
}

/**
 * How a node runs grains.
 *
 * @example
 * ```ts
 * Cluster.layer({ nodeId: "a", kinds: [Cart], grains: { maxResident: 50_000, passivateAfter: "2 minutes", eager: ["Cart"] } })
 * ```
 * @since 0.1.0
 * @category models
 */
export interface GrainOptions {
  /**
   * Grains resident on this node at most (100,000). One more activation
   * fails with `TooManyGrains` before touching the store: an activation
   * storm is pushed back to its callers instead of exhausting the node.
   */
  readonly maxResident?: number
  /** A grain whose definition sets no `passivateAfter` stops after this long idle (5 minutes). */
  readonly passivateAfter?: Duration.DurationInput
  /** Kinds whose grains survivors re-activate at once when their node dies (default: none, they come back on their next message). */
  readonly eager?: ReadonlyArray<string>
}

/**
 * What the cluster offers on one node.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** This node's membership (lease, view, state). */
  readonly membership: Membership.Service
  /** This node's current incarnation. */
  readonly self: Effect.Effect<Incarnation>
  /**
   * Spawns a cluster actor here; returns once its name is committed in the
   * directory. A name held by a live actor anywhere fails with `NameTaken`
   * (its `node` says where); a suspended node fails with `ClusterSuspended`.
   */
  spawn<M extends Tagged, S, R>(
    definition: Actor.Definition<M, S, R>,
    name: string,
    options?: SpawnOptions
  ): Effect.Effect<Pid.Pid<M>, SpawnError | InvalidArgument, R>
  /**
   * Spawns a kind by its name: here if this node registered it, else on the
   * live node that rendezvous hashing picks among those that did.
   */
  spawnKind(
    kind: string,
    name: string,
    options?: SpawnOptions
  ): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument | KindNotRegistered | RemoteError>
  /**
   * Spawns a kind on the node a placement picks (round-robin, random,
   * local, least-load or a named node) among the live members that run it
   * and have its role (the spawn's `role`, else the kind's `kindRoles`
   * entry). No member fits: `PlacementFailed`.
   */
  spawnOn(
    kind: string | Kind<any>,
    name: string,
    options?: SpawnOnOptions
  ): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument | KindNotRegistered | RemoteError | PlacementFailed>
  /** Spawns, or answers the PID of the live actor that already holds the name, wherever it runs. */
  getOrSpawn<M extends Tagged, S, R>(
    definition: Actor.Definition<M, S, R>,
    name: string,
    options?: SpawnOptions
  ): Effect.Effect<Pid.Pid<M>, SpawnError | InvalidArgument | ActorNotFound | StoreUnavailable, R>
  /** Finds a name anywhere in the cluster: a local or remote PID, `None` when no live actor holds it. */
  lookup(name: string): Effect.Effect<Option.Option<Pid.Pid>, StoreUnavailable>
  /** Like `lookup`, typed by a definition, failing with `ActorNotFound` (waits while the name is moving). */
  actorOf<M extends Tagged, S, R>(
    name: string,
    definition: Actor.Definition<M, S, R>
  ): Effect.Effect<Pid.Pid<M>, ActorNotFound | StoreUnavailable>
  /**
   * Tells the actor of a name, wherever it runs. The PID is cached while its
   * node's incarnation lives; a stale answer (the actor moved) is corrected
   * and the tell sent again, since nothing processed it. A tell accepted by
   * a node that dies before processing it is lost, like any tell.
   */
  sendAsync(
    name: string,
    message: Tagged
  ): Effect.Effect<void, TellError | UnknownMessage | ActorNotFound | StoreUnavailable>
  /** Asks the actor of a name, wherever it runs (resolution as `sendAsync`). */
  sendSync<Q extends Tagged & Schema.WithResult.All>(
    name: string,
    request: Q,
    options?: Pid.AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage | ActorNotFound | StoreUnavailable>
  /** Stops the actor of a name wherever it runs (its name is released). */
  stop(name: string): Effect.Effect<void, ActorNotFound | StoreUnavailable>
  /**
   * The reference of a grain (virtual actor): the actor of `definition`'s
   * kind with identity `id`, which nobody spawns. The reference is always
   * valid: its first message activates the grain on its owner (rendezvous
   * over the live nodes that run the kind; one store write), later ones go
   * straight to it; it passivates when idle and comes back on its next
   * message, on a survivor if its node died. Fails with `InvalidArgument`
   * only for an id that cannot be a name (empty, or too long). Sends fail
   * with `TooManyGrains` when the owner is at its cap, with
   * `KindNotRegistered` when no live node runs the kind.
   */
  grain<M extends Tagged, S, R>(
    definition: Actor.Definition<M, S, R>,
    id: string
  ): Effect.Effect<Pid.Pid<M>, InvalidArgument>
  /** Grains active on this node now. */
  readonly residentGrains: Effect.Effect<number>
  /** The live members of the cluster (last view), oldest first. */
  readonly nodes: Effect.Effect<ReadonlyArray<Member>>
  /**
   * Leaves gracefully: `leaving`, every cluster actor drains, `left`, and the
   * nodes that adopt its names are told at once (one round trip, not a lease
   * period). Closing the layer does it too.
   */
  readonly leave: Effect.Effect<void>
}

/**
 * The cluster of the context.
 *
 * @example
 * ```ts
 * const pid = yield* Effect.flatMap(Cluster.Cluster, (cluster) => cluster.spawn(Counter, "counter"))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Cluster extends Context.Tag("effect-actors/Cluster")<Cluster, Service>() {}

/**
 * Joins this node to the cluster and plugs the directory into its actor
 * system; leaves gracefully when the scope closes.
 *
 * @example
 * ```ts
 * const cluster = yield* Cluster.make({ nodeId: "node-a", kinds: [Counter] })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = <R = never>(
  options: Options<R>
): Effect.Effect<
  readonly [Service, Membership.Service],
  StoreUnavailable | InvalidArgument,
  ActorSystem | Remoting | ClusterStore | Discovery | Scope.Scope | R
> => internal.make(options as Options<unknown> & { readonly kinds?: ReadonlyArray<AnyDefinition> }) as never

/**
 * The cluster of this node as a layer; it also provides its `Membership`.
 *
 * @example
 * ```ts
 * Cluster.layer({ nodeId: "node-a", kinds: [Counter] }).pipe(
 *   Layer.provideMerge(Remoting.layer({ kinds: [Counter] })),
 *   Layer.provideMerge(ActorSystem.layer({ name: "shop" })),
 *   Layer.provide(ClusterStore.layerMemory),
 *   Layer.provide(Discovery.layerStatic([]))
 * )
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = <R = never>(
  options: Options<R>
): Layer.Layer<
  Cluster | Membership.Membership,
  StoreUnavailable | InvalidArgument,
  ActorSystem | Remoting | ClusterStore | Discovery | R
> =>
  Layer.scopedContext(
    Effect.map(make(options), ([cluster, membership]) =>
      Context.make(Cluster, cluster).pipe(Context.add(Membership.Membership, membership)))
  )

/**
 * Tells the actor of a name, wherever it runs in the cluster.
 *
 * @example
 * ```ts
 * yield* Cluster.sendAsync("counter", new Increment({ by: 1 }))
 * ```
 * @since 0.1.0
 * @category messaging
 */
export const sendAsync = (
  name: string,
  message: Tagged
): Effect.Effect<void, TellError | UnknownMessage | ActorNotFound | StoreUnavailable, Cluster> =>
  Effect.flatMap(Cluster, (cluster) => cluster.sendAsync(name, message))

/**
 * Asks the actor of a name, wherever it runs in the cluster.
 *
 * @example
 * ```ts
 * const n = yield* Cluster.sendSync("counter", new GetCount())
 * ```
 * @since 0.1.0
 * @category messaging
 */
export const sendSync = <Q extends Tagged & Schema.WithResult.All>(
  name: string,
  request: Q,
  options?: Pid.AskOptions
): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage | ActorNotFound | StoreUnavailable, Cluster> =>
  Effect.flatMap(Cluster, (cluster) => cluster.sendSync(name, request, options))

/**
 * The reference of a grain (virtual actor) of the cluster: always valid;
 * its first message activates it on its owner node.
 *
 * @example
 * ```ts
 * const cart = yield* Cluster.grain(Cart, "customer-42")
 * yield* cart.tell(new AddItem({ sku: "tea" }))
 * const items = yield* cart.ask(new GetItems())
 * ```
 * @since 0.1.0
 * @category grains
 */
export const grain = <M extends Tagged, S, R>(
  definition: Actor.Definition<M, S, R>,
  id: string
): Effect.Effect<Pid.Pid<M>, InvalidArgument, Cluster> =>
  Effect.flatMap(Cluster, (cluster) => cluster.grain(definition, id))

/**
 * Spawns a kind on the node a placement picks.
 *
 * @example
 * ```ts
 * const pid = yield* Cluster.spawnOn("Worker", "w-1", { placement: "round-robin" })
 * ```
 * @since 0.1.0
 * @category spawning
 */
export const spawnOn = (
  kind: string | Kind<any>,
  name: string,
  options?: SpawnOnOptions
): Effect.Effect<Pid.Pid, SpawnError | InvalidArgument | KindNotRegistered | RemoteError | PlacementFailed, Cluster> =>
  Effect.flatMap(Cluster, (cluster) => cluster.spawnOn(kind, name, options))

/**
 * Spawns a cluster actor on this node.
 *
 * @example
 * ```ts
 * const pid = yield* Cluster.spawn(Counter, "counter", { supervision: "restart" })
 * ```
 * @since 0.1.0
 * @category spawning
 */
export const spawn = <M extends Tagged, S, R>(
  definition: Actor.Definition<M, S, R>,
  name: string,
  options?: SpawnOptions
): Effect.Effect<Pid.Pid<M>, SpawnError | InvalidArgument, R | Cluster> =>
  Effect.flatMap(Cluster, (cluster) => cluster.spawn(definition, name, options))

export type {
  /**
   * A node incarnation (`nodeId` + `epoch`).
   *
   * @since 0.1.0
   */
  Incarnation,
  /**
   * A member of the cluster.
   *
   * @since 0.1.0
   */
  Member
}
