/**
 * A client of a cluster for processes outside it: no actor system, no
 * store. It connects to one or more nodes over the remoting wire (the same
 * frames, TLS and token as `RemoteClient`), reads the member view with a
 * `Members` call to a node's gateway actor (`ea.gateway`, on every cluster
 * node), and then talks to the node that owns what it addresses: names are
 * resolved once (`Whereis`) and cached, grains are routed by the same
 * rendezvous hashing the nodes use, spawns by kind go to the node a
 * placement or a client-side balancer picks. When a node goes away, the
 * client drops what it cached of it, re-reads the view from another node
 * and resolves again (within `relocationWait`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ClusterClient } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* ClusterClient.ClusterClient
 *   yield* client.spawnWithBalancer("Counter", "counter-7", "least-load")
 *   yield* client.tell("counter-7", new Increment({ by: 1 }))
 *   const n = yield* client.ask("counter-7", new GetCount())
 *   const cart = yield* client.grain(Cart, "customer-42")
 *   yield* cart.tell(new AddItem({ sku: "tea" }))
 * }).pipe(Effect.provide(ClusterClient.layer({ nodes: [{ host: "10.0.0.1", port: 7000 }, { host: "10.0.0.2", port: 7000 }] })))
 * ```
 * @since 0.1.0
 */
import { Context, Duration, Effect, Either, Layer, Option, Random, Schedule, type Schema, type Scope } from "effect"
import type * as Actor from "../Actor.js"
import * as Address from "../Address.js"
import {
  ActorNotFound,
  type AskError,
  GrainMoved,
  type InvalidArgument,
  KindNotRegistered,
  NodeUnreachable,
  PlacementFailed,
  type RemoteError,
  type SpawnError,
  type TellError,
  type UnknownMessage
} from "../Errors.js"
import type { FailureOf, ReplyOf, Tagged } from "../Message.js"
import type * as Pid from "../Pid.js"
import { clientPool } from "../Remoting/RemoteClient.js"
import type { Pool } from "../Remoting/internal/connection.js"
import * as Ops from "../Remoting/internal/ops.js"
import type { Kind, SpawnOnOptions } from "./Cluster.js"
import { parseNodeAddress } from "./internal/directory.js"
import { gatewayName, type MemberInfo, Members, SpawnOn, Whereis } from "./internal/gateway.js"
import * as GrainName from "./internal/grainName.js"
import * as Placements from "./internal/placement.js"
import * as Rendezvous from "./internal/rendezvous.js"
import { NameRef } from "./internal/singletonRef.js"

export type {
  /**
   * A member of the cluster as a client sees it.
   *
   * @since 0.1.0
   */
  MemberInfo
} from "./internal/gateway.js"

/**
 * How `spawnWithBalancer` picks a node on the client side: the next member
 * in node id order, a random one, or the one that ran the fewest actors at
 * the last load refresh (`loadInterval`).
 *
 * @since 0.1.0
 * @category models
 */
export type Balancer = "round-robin" | "random" | "least-load"

/**
 * Options of the client.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Ops.ClientOptions {
  /** The nodes to ask for the member view first (any live one will do). */
  readonly nodes: ReadonlyArray<Ops.NodeAddress>
  /** How often the member view is re-read (2 seconds). */
  readonly refreshInterval?: Duration.DurationInput
  /** How often members' actor counts are re-read for least-load balancing (1 second). */
  readonly loadInterval?: Duration.DurationInput
  /** How long a call waits for a name or a grain that is moving (10 seconds). */
  readonly relocationWait?: Duration.DurationInput
}

/**
 * What the client offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The live members, re-read from a node now. */
  readonly members: Effect.Effect<ReadonlyArray<MemberInfo>, NodeUnreachable>
  /** The kinds some live member runs. */
  readonly kinds: Effect.Effect<ReadonlyArray<string>, NodeUnreachable>
  /** Spawns a kind by name where the cluster's placement says (default: rendezvous hashing on the name). */
  spawn<M extends Tagged = Tagged>(
    kind: string | Kind<any>,
    name: string,
    options?: Pick<SpawnOnOptions, "placement" | "role">
  ): Effect.Effect<Pid.Pid<M>, SpawnError | KindNotRegistered | PlacementFailed | RemoteError>
  /** Spawns a kind on the member a client-side balancer picks among those that run it (and have `role`). */
  spawnWithBalancer<M extends Tagged = Tagged>(
    kind: string | Kind<any>,
    name: string,
    balancer: Balancer,
    options?: { readonly role?: string }
  ): Effect.Effect<Pid.Pid<M>, SpawnError | KindNotRegistered | PlacementFailed | RemoteError>
  /** The PID of the live actor holding a name anywhere in the cluster. */
  whereis(name: string): Effect.Effect<Option.Option<Pid.Pid>, RemoteError>
  /** Tells the actor of a name, wherever it runs (re-resolved when its node goes away). */
  tell(name: string, message: Tagged): Effect.Effect<void, TellError | UnknownMessage | ActorNotFound>
  /** Asks the actor of a name, wherever it runs. */
  ask<Q extends Tagged & Schema.WithResult.All>(
    name: string,
    request: Q,
    options?: Pid.AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage | ActorNotFound>
  /** Stops the actor of a name (its name is released). */
  stop(name: string): Effect.Effect<void, RemoteError | ActorNotFound>
  /** Restarts the actor of a name. */
  respawn(name: string): Effect.Effect<void, RemoteError | ActorNotFound | AskError>
  /** The reference of a grain: its messages go to its owner node, which activates it. */
  grain<M extends Tagged, S, R>(definition: Actor.Definition<M, S, R>, id: string): Effect.Effect<Pid.Pid<M>, InvalidArgument>
}

/**
 * The cluster client of the context.
 *
 * @since 0.1.0
 * @category tags
 */
export class ClusterClient extends Context.Tag("effect-actors/ClusterClient")<ClusterClient, Service>() {}

const tagOf = (error: unknown): unknown =>
  typeof error === "object" && error !== null && "_tag" in error ? error._tag : undefined

/** Nothing was processed and another node may answer: resolve again and retry. */
const isTransient = (error: unknown): boolean => {
  const tag = tagOf(error)
  return tag === "ActorNotFound" || tag === "ActorStopped" || tag === "NodeUnreachable" || tag === "ClusterSuspended"
}

/** The node part of an address, as `host:port`. */
const nodeOf = (address: Address.Address) => `${address.host}:${address.port}`

/**
 * Connects to a cluster in the current scope: reads the member view from
 * the first of `nodes` that answers (failing with `NodeUnreachable` when
 * none does), then keeps it fresh.
 *
 * @example
 * ```ts
 * const client = yield* ClusterClient.make({ nodes: [{ host: "127.0.0.1", port: 7000 }] })
 * const members = yield* client.members
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, NodeUnreachable, Scope.Scope> =>
  Effect.gen(function*() {
    const pool: Pool = yield* clientPool(options)
    const placement = yield* Rendezvous.make
    const retry = Schedule.exponential("10 millis", 1.5).pipe(
      Schedule.union(Schedule.spaced("200 millis")),
      Schedule.upTo(Duration.decode(options.relocationWait ?? "10 seconds"))
    )
    let members: ReadonlyArray<MemberInfo> = []
    const loads = new Map<string, number>()
    const names = new Map<string, Pid.Pid>()
    const grains = new Map<string, Pid.Pid>()
    const cursor = new Placements.Cursor()

    const addressOf = (member: MemberInfo, path: string) => {
      const node = parseNodeAddress(member.address)
      return node === undefined
        ? undefined
        : Address.make({ system: node.system, host: node.host, port: node.port, path: [path] })
    }
    const gateway = (address: Address.Address) =>
      pool.pid(Address.make({ system: address.system, host: address.host, port: address.port, path: [gatewayName] }))
    /** Where to ask: the live members, then the seeds. */
    const gateways = () => {
      const known = members.flatMap((member) => {
        const address = addressOf(member, gatewayName)
        return address === undefined ? [] : [address]
      })
      const seeds = options.nodes.map((node) => Address.make({ system: "", host: node.host, port: node.port, path: [gatewayName] }))
      const seen = new Set(known.map(nodeOf))
      return [...known, ...seeds.filter((seed) => !seen.has(nodeOf(seed)))]
    }
    /** Asks the first gateway that answers. */
    const call = <Q extends Tagged & Schema.WithResult.All>(request: Q) =>
      Effect.suspend(() => {
        const targets = gateways()
        const attempt = (i: number): Effect.Effect<ReplyOf<Q>, unknown> => {
          const target = targets[i]
          if (target === undefined) {
            return Effect.fail(new NodeUnreachable({ node: "cluster", reason: "no node of the cluster answered" }))
          }
          return Effect.catchIf(
            gateway(target).ask(request as never) as Effect.Effect<ReplyOf<Q>, unknown>,
            (error) => tagOf(error) === "NodeUnreachable" || tagOf(error) === "ActorNotFound",
            () => attempt(i + 1)
          )
        }
        return attempt(0)
      })
    /** `host:port` of the live members: a cached PID on any other node is stale. */
    let live = new Set<string>()
    const isLive = (pid: Pid.Pid) => live.has(nodeOf(pid.address))
    const refresh = Effect.map(call(new Members()), (view) => {
      members = view
      live = new Set(view.flatMap((member) => {
        const node = parseNodeAddress(member.address)
        return node === undefined ? [] : [`${node.host}:${node.port}`]
      }))
      return view
    }) as Effect.Effect<ReadonlyArray<MemberInfo>, NodeUnreachable>
    yield* refresh
    yield* Effect.forkScoped(
      Effect.repeat(Effect.ignore(refresh), Schedule.spaced(Duration.decode(options.refreshInterval ?? "2 seconds")))
    )
    const refreshLoads = Effect.forEach(members, (member) => {
      const node = parseNodeAddress(member.address)
      if (node === undefined) return Effect.void
      return Effect.ignore(Effect.map(Ops.nodeInfo(pool, node), (info) => loads.set(member.nodeId, info.actors)))
    }, { concurrency: "unbounded", discard: true })
    yield* Effect.forkScoped(
      Effect.repeat(refreshLoads, Schedule.spaced(Duration.decode(options.loadInterval ?? "1 second")))
    )

    /** A node went away: forget what was cached on it and re-read the view. */
    const lost = (error: unknown) =>
      tagOf(error) === "NodeUnreachable" ? Effect.ignore(refresh) : Effect.void

    const resolve = (name: string): Effect.Effect<Option.Option<Pid.Pid>, RemoteError> => {
      const cached = names.get(name)
      if (cached !== undefined && isLive(cached)) return Effect.succeed(Option.some(cached))
      return Effect.map(call(new Whereis({ name })), (found) => {
        const address = found === null ? undefined : Address.parse(found)
        if (address === undefined) return Option.none()
        const pid = pool.pid(address) as unknown as Pid.Pid
        names.set(name, pid)
        return Option.some(pid)
      }) as Effect.Effect<Option.Option<Pid.Pid>, RemoteError>
    }
    const byName = <A>(name: string, f: (pid: Pid.Pid) => Effect.Effect<A, unknown>): Effect.Effect<A, unknown> =>
      Effect.suspend(() =>
        Effect.flatMap(resolve(name), (pid) =>
          Option.isNone(pid) ? Effect.fail(new ActorNotFound({ actorName: name })) : f(pid.value))
      ).pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            if (isTransient(error)) names.delete(name)
            return lost(error)
          })
        ),
        Effect.retry({ while: isTransient, schedule: retry })
      )

    const spawnAt = (target: Address.Address | undefined, request: SpawnOn, tags: ReadonlySet<string> | undefined) =>
      Effect.flatMap(
        target === undefined ? call(request) : gateway(target).ask(request),
        (text) => {
          const address = Address.parse(text)
          if (address === undefined) return Effect.dieMessage(`ClusterClient: a node answered a bad address ${text}`)
          const pid = pool.pid(address, tags) as unknown as Pid.Pid
          names.set(request.name, pid)
          return Effect.succeed(pid)
        }
      )
    const kindName = (kind: string | Kind<any>) => typeof kind === "string" ? kind : kind.kind
    const tagsOf = (kind: string | Kind<any>) => typeof kind === "string" ? undefined : kind.tags

    const routeGrain = (name: string, kind: string, tags: ReadonlySet<string>): Pid.Pid | KindNotRegistered => {
      const known = grains.get(name)
      if (known !== undefined && isLive(known)) return known
      const list = Placements.candidates(members, kind, undefined)
      const key = (member: MemberInfo) => `${member.nodeId}#${member.epoch}`
      const owner = placement.pick(name, list.map(key))
      const member = list.find((candidate) => key(candidate) === owner)
      const address = member === undefined ? undefined : addressOf(member, name)
      if (address === undefined) return new KindNotRegistered({ kind, node: "no live node of the cluster" })
      const pid = pool.pid(address, tags) as unknown as Pid.Pid
      grains.set(name, pid)
      return pid
    }
    const sendGrain = <A>(name: string, def: Actor.Definition<any, any, any>, f: (pid: Pid.Pid) => Effect.Effect<A, unknown>) => {
      const once = (hops: number): Effect.Effect<A, unknown> =>
        Effect.suspend(() => {
          const route = routeGrain(name, def.kind, def.tags)
          return route instanceof KindNotRegistered ? Effect.fail(route) : f(route)
        }).pipe(
          Effect.catchIf((error): error is GrainMoved => error instanceof GrainMoved, (moved) => {
            const address = Address.parse(moved.address)
            if (hops >= 3 || address === undefined) return Effect.fail(moved)
            grains.set(name, pool.pid(address, def.tags) as unknown as Pid.Pid)
            return once(hops + 1)
          })
        )
      return once(0).pipe(
        Effect.tapError((error) =>
          Effect.suspend(() => {
            if (isTransient(error)) grains.delete(name)
            return lost(error)
          })
        ),
        Effect.retry({ while: isTransient, schedule: retry })
      )
    }

    const service: Service = {
      members: refresh,
      kinds: Effect.map(refresh, (view) => [...new Set(view.flatMap((member) => member.kinds))].sort()),
      spawn: (kind, name, spawnOptions) => {
        const placementOption = spawnOptions?.placement
        const request = new SpawnOn({
          kind: kindName(kind),
          name,
          ...(typeof placementOption === "object" ? { node: placementOption.node } : {}),
          ...(typeof placementOption === "string" ? { placement: placementOption } : {}),
          ...(spawnOptions?.role === undefined ? {} : { role: spawnOptions.role })
        })
        return spawnAt(undefined, request, tagsOf(kind)) as never
      },
      spawnWithBalancer: (kind, name, balancer, balancerOptions) =>
        Effect.gen(function*() {
          const list = Placements.candidates(members, kindName(kind), balancerOptions?.role)
          const failed = (reason: string) =>
            new PlacementFailed({ kind: kindName(kind), actorName: name, placement: balancer, reason })
          if (list.length === 0) return yield* Effect.fail(failed(`no live member runs kind ${kindName(kind)}`))
          let chosen: MemberInfo | undefined
          if (balancer === "round-robin") chosen = cursor.take(list, "")
          else if (balancer === "random") chosen = list[yield* Random.nextIntBetween(0, list.length)]
          else {
            chosen = [...list].sort((a, b) =>
              (loads.get(a.nodeId) ?? Infinity) - (loads.get(b.nodeId) ?? Infinity)
            )[0]
          }
          const target = chosen === undefined ? undefined : addressOf(chosen, gatewayName)
          if (target === undefined) return yield* Effect.fail(failed("the member has no remoting address"))
          // Counted at once, so spawns between two load refreshes spread too.
          if (chosen !== undefined) loads.set(chosen.nodeId, (loads.get(chosen.nodeId) ?? 0) + 1)
          const request = new SpawnOn({
            kind: kindName(kind),
            name,
            placement: "local",
            ...(balancerOptions?.role === undefined ? {} : { role: balancerOptions.role })
          })
          return yield* spawnAt(target, request, tagsOf(kind))
        }) as never,
      whereis: (name) =>
        Effect.suspend(() => {
          names.delete(name)
          return resolve(name)
        }),
      tell: (name, message) => byName(name, (pid) => pid.tell(message)) as never,
      ask: (name, request, askOptions) =>
        byName(name, (pid) => (pid as Pid.Pid<Tagged & never>).ask(request as never, askOptions)) as never,
      stop: (name) =>
        byName(name, (pid) =>
          Effect.zipRight(Ops.stop(pool, pid.address, false), Effect.sync(() => names.delete(name)))) as never,
      respawn: (name) => byName(name, (pid) => Ops.respawn(pool, pid.address)) as never,
      grain: (definition, id) =>
        Effect.map(
          Either.match(GrainName.encode(definition.kind, id), { onLeft: Effect.fail, onRight: Effect.succeed }),
          (name) =>
            new NameRef(name, "cluster-client", {
              tell: (grain, message) => sendGrain(grain, definition, (pid) => pid.tell(message)),
              ask: (grain, message, askOptions) =>
                sendGrain(grain, definition, (pid) => (pid as Pid.Pid<Tagged & never>).ask(message as never, askOptions)),
              pid: (grain) => sendGrain(grain, definition, (pid) => Effect.succeed(pid)) as never
            }) as unknown as Pid.Pid<never>
        ) as never
    }
    return service
  })

/**
 * The client as a layer.
 *
 * @example
 * ```ts
 * const ClientLive = ClusterClient.layer({ nodes: [{ host: "10.0.0.1", port: 7000 }], token: "secret" })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<ClusterClient, NodeUnreachable> =>
  Layer.scoped(ClusterClient, make(options))
