/**
 * One node's cluster, assembled: membership, directory, redeployment,
 * reconcile, self-fencing of its actors, graceful leave, and the service.
 *
 * @internal
 */
import { Duration, Effect, Option, Schedule, type Scope, Stream } from "effect"
import * as Actor from "../../Actor.js"
import { KindNotRegistered } from "../../Errors.js"
import { ActorSystem } from "../../ActorSystem.js"
import { InvalidArgument } from "../../Errors.js"
import * as Remoting from "../../Remoting/Remoting.js"
import type { AnyDefinition } from "../../internal/system.js"
import type { Options, Service } from "../Cluster.js"
import { ClusterStore, type Incarnation, type View } from "../ClusterStore.js"
import * as Membership from "../Membership.js"
import { build, nodeAddress } from "./build.js"
import { incarnationKey, NodeView, parseNodeAddress } from "./directory.js"
import { controlName, RedeployNow, SpawnHere } from "./control.js"
import { defaultGrainSettings } from "./grains.js"
import { exportMembership } from "./metrics.js"
import * as Gateway from "./gateway.js"
import { Redeployer } from "./redeploy.js"

const defaults = {
  relocationWait: Duration.seconds(10),
  claimTimeout: Duration.seconds(2),
  redeployInterval: Duration.millis(500),
  reconcileInterval: Duration.seconds(5)
}

export const make = (
  options: Options<unknown> & { readonly kinds?: ReadonlyArray<AnyDefinition> }
): Effect.Effect<
  readonly [Service, Membership.Service],
  import("../ClusterError.js").StoreUnavailable | import("../../Errors.js").InvalidArgument,
  ActorSystem | Remoting.Remoting | ClusterStore | import("../Discovery.js").Discovery | Scope.Scope
> =>
  Effect.gen(function*() {
    const maxResident = options.grains?.maxResident
    if (maxResident !== undefined && !(Number.isInteger(maxResident) && maxResident > 0)) {
      return yield* Effect.fail(
        new InvalidArgument({ reason: `grains.maxResident must be a positive integer, got ${maxResident}` })
      )
    }
    const store = yield* ClusterStore
    const system = yield* ActorSystem
    const kinds = options.kinds ?? []
    const membership = yield* Membership.make({
      ...options,
      address: yield* nodeAddress,
      kinds: kinds.map((def) => def.kind)
    })
    const view = new NodeView(yield* membership.self.get)
    // At most one early reap per 50 ms, whatever the number of lost connections or undelivered tells.
    const reapClock = yield* Effect.clock
    let nudged = Number.NEGATIVE_INFINITY
    view.onUnreachable = () => {
      const now = reapClock.unsafeCurrentTimeMillis()
      if (now - nudged < 50) return
      nudged = now
      Effect.runFork(membership.reapNow)
    }
    const initial = yield* membership.view.get
    view.update(initial)
    const node = yield* build({
      kinds,
      relocate: options.relocate ?? true,
      relocationWait: Duration.decode(options.relocationWait ?? defaults.relocationWait),
      maxBatch: options.maxBatch ?? 500,
      kindRoles: new Map(Object.entries(options.kindRoles ?? {})),
      grains: {
        ...defaultGrainSettings,
        relocationWait: Duration.decode(options.relocationWait ?? defaults.relocationWait),
        ...(options.grains?.maxResident === undefined ? {} : { maxResident: options.grains.maxResident }),
        ...(options.grains?.passivateAfter === undefined
          ? {}
          : { passivateAfter: Duration.decode(options.grains.passivateAfter) }),
        eager: new Set(options.grains?.eager ?? [])
      }
    }, store, view)
    const directory = node.directory
    const clock = yield* Effect.clock
    const redeployer = new Redeployer(directory, node.placement, {
      claimTimeout: Duration.decode(options.claimTimeout ?? defaults.claimTimeout)
    }, () => clock.unsafeCurrentTimeMillis())

    // Passes never overlap: one at a time, and a request during one runs another after it.
    const lock = yield* Effect.makeSemaphore(1)
    const pass = lock.withPermits(1)(Effect.ignoreLogged(redeployer.pass))
    const reconcile = lock.withPermits(1)(Effect.ignoreLogged(redeployer.reconcile))
    // On a peer's hint, read the view now rather than at the next reaper tick: the peer just left.
    const refreshThenPass = Effect.zipRight(
      Effect.ignoreLogged(Effect.flatMap(store.view(view.version), (next) =>
        Effect.sync(() => {
          if (Option.isSome(next) && view.update(next.value)) directory.prune()
        }))),
      pass
    )

    // The control actor: peers that leave tell it to look for orphans at once.
    const Control = Actor.make("effect-actors/ClusterControl", {
      protocol: [RedeployNow, SpawnHere],
      passivateAfter: "never",
      receive: {
        RedeployNow: () => Effect.asVoid(Effect.forkDaemon(refreshThenPass)),
        SpawnHere: (request) => {
          const def = kinds.find((kind) => kind.kind === request.kind)
          return def === undefined
            ? Effect.fail(new KindNotRegistered({ kind: request.kind, node: view.self.nodeId }))
            : Effect.map(node.spawn(def, request.name, request.options), (pid) => pid.address.toString())
        }
      }
    })
    const impl = directory.impl
    impl.cluster = undefined
    // A failure here means the name is in use by a user actor: a setup error, not a runtime one.
    yield* Effect.orDie(system.spawn(Control, controlName))
    impl.cluster = directory

    /** Self-fencing: a suspended node stops its cluster actors at once (their rows stay, for adopters). */
    const stopAll = (graceful: boolean) =>
      Effect.suspend(() =>
        Effect.forEach(directory.running(), ([cell]) => directory.stopKeepingRow(cell, graceful), {
          concurrency: "unbounded",
          discard: true
        })
      )

    yield* membership.state.changes.pipe(
      Stream.runForEach((state) =>
        Effect.suspend(() => {
          const suspended = state === "suspended"
          const was = view.suspended
          view.suspended = suspended || state === "left"
          if (suspended && !was) return stopAll(false)
          // Resumed: the rows are still ours; reconcile starts their actors again (with fresh state).
          if (!suspended && was && state !== "left") return reconcile
          return Effect.void
        })
      ),
      Effect.forkScoped
    )
    yield* membership.self.changes.pipe(
      Stream.runForEach((self: Incarnation) =>
        Effect.sync(() => {
          view.self = self
        })
      ),
      Effect.forkScoped
    )
    yield* exportMembership(membership, system.name)
    yield* membership.view.changes.pipe(
      Stream.runForEach((next: View) =>
        Effect.suspend(() => {
          if (!view.update(next)) return Effect.void
          directory.prune()
          return pass
        })
      ),
      Effect.forkScoped
    )
    yield* Effect.forkScoped(
      Effect.repeat(pass, Schedule.spaced(options.redeployInterval ?? defaults.redeployInterval))
    )
    yield* Effect.forkScoped(
      Effect.repeat(reconcile, Schedule.spaced(options.reconcileInterval ?? defaults.reconcileInterval))
    )

    // Store calls of the leave give up after this: a node cut off from its store still closes (its lease expires).
    const storeTimeout = Duration.times(membership.config.heartbeat, 2)
    const leave = Effect.gen(function*() {
      if ((yield* membership.state.get) === "left") return
      const before = view.members().filter((member) =>
        member.status === "up" && incarnationKey(member) !== incarnationKey(view.self)
      )
      yield* Effect.ignore(Effect.timeout(Effect.disconnect(membership.leaving), storeTimeout))
      yield* stopAll(true)
      yield* membership.leave
      view.suspended = true
      // One round trip: tell the other live nodes to adopt now rather than at their next view read.
      const self = view.self
      yield* Effect.forEach(before, (member) => {
        const address = parseNodeAddress(member.address)
        if (address === undefined) return Effect.void
        return Remoting.pid({ host: address.host, port: address.port, name: controlName }, Control).pipe(
          Effect.flatMap((pid) => pid.tell(new RedeployNow({ nodeId: self.nodeId, epoch: self.epoch }))),
          Effect.provideService(ActorSystem, system),
          Effect.ignore
        )
      }, { concurrency: "unbounded", discard: true })
      if (impl.cluster === directory) impl.cluster = undefined
    })
    // Runs before membership's own finalizer (built first, closed last).
    yield* Effect.addFinalizer(() => leave)

    const service: Service = {
      membership,
      self: Effect.sync(() => view.self),
      spawn: (definition, name, spawnOptions) =>
        node.spawn(definition as unknown as AnyDefinition, name, spawnOptions) as never,
      spawnKind: (kind, name, spawnOptions) => node.spawnKind(kind, name, spawnOptions) as never,
      spawnOn: (kind, name, spawnOptions) =>
        node.spawnOn(typeof kind === "string" ? kind : kind.kind, name, spawnOptions) as never,
      getOrSpawn: (definition, name, spawnOptions) =>
        node.getOrSpawn(name, node.spawn(definition as unknown as AnyDefinition, name, spawnOptions)) as never,
      lookup: (name) => node.lookup(name),
      actorOf: (name) => node.actorOf(name) as never,
      sendAsync: (name, message) => node.tell(name, message) as never,
      sendSync: (name, request, askOptions) => node.ask(name, request, askOptions) as never,
      stop: (name) => node.stop(name),
      grain: (definition, id) =>
        Effect.suspend(() => node.grains.ref(definition as unknown as AnyDefinition, id)) as never,
      residentGrains: Effect.sync(() => node.grains.residentCount),
      nodes: Effect.sync(() =>
        view.members().filter((member) => member.status === "up" || member.status === "leaving")
      ),
      leave
    }
    // The gateway for clients outside the cluster (spawned outside the directory: every node has one).
    const here = parseNodeAddress(yield* nodeAddress)
    if (here !== undefined) {
      impl.cluster = undefined
      yield* Effect.orDie(system.spawn(Gateway.make(service, options.nodeId, here), Gateway.gatewayName))
      impl.cluster = directory
    }
    return [service, membership] as const
  })
