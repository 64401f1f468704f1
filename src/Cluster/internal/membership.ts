/**
 * The machinery of `Membership`: the lease of this node's incarnation, its
 * heartbeat, the self-fencing deadline, the reaper and the view.
 *
 * Three fibers, scoped to the membership:
 * - heartbeat: every `heartbeat`, renew the lease under `Effect.timeout`
 *   (disconnected, so a hung store call cannot hold it); on success push the
 *   deadline to `t_send + ttl − margin` and resume if suspended; on 0 rows
 *   (declared dead) suspend and rejoin under a new epoch;
 * - deadline: sleeps on the `Clock` until the deadline and suspends there,
 *   whatever the store does (a hung or failing renewal changes nothing);
 * - reaper: every `reapInterval`, re-reads the view (diffed into events),
 *   marks dead the expired leases once this node's own lease has been valid
 *   for `ttl` without a break, and those on this host whose process is gone.
 *
 * State changes and the events they publish happen under one lock, so every
 * subscriber sees them in the order they happened.
 */
import { Duration, Effect, Either, Option, Queue, Schedule, type Scope, SubscriptionRef } from "effect"
import type * as ActorSystem from "../../ActorSystem.js"
import * as Events from "../../EventStream.js"
import { implOf } from "../../internal/system.js"
import { StoreUnavailable } from "../ClusterError.js"
import type { Incarnation, Member, Service as Store, View } from "../ClusterStore.js"
import type { Service as DiscoveryService } from "../Discovery.js"
import type { NodeState, ResolvedConfig, Service } from "../Membership.js"
import * as ProcessProbe from "./processProbe.js"

const key = (node: Incarnation) => `${node.nodeId}/${node.epoch}`
const isLive = (member: Member) => member.status === "up" || member.status === "leaving"

/** How often the reaper prunes long-dead incarnations (when it may reap). */
const pruneEvery = Duration.minutes(1)

export const make = (
  config: ResolvedConfig,
  store: Store,
  discovery: DiscoveryService,
  system: ActorSystem.Service
): Effect.Effect<Service, StoreUnavailable, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const now = () => clock.unsafeCurrentTimeMillis()
    const impl = implOf(system)
    const publish = (event: Events.Event) => impl?.publish(event)
    const ttl = Duration.toMillis(config.ttl)
    const margin = Duration.toMillis(config.margin)
    const callTimeout = config.heartbeat
    const process = config.sameHostProof ? ProcessProbe.current() : undefined
    const host = process?.hostId
    const lock = yield* Effect.makeSemaphore(1)
    const locked = lock.withPermits(1)

    /** A store call that gives up after `callTimeout` even if the call itself cannot be interrupted. */
    const call = <A>(effect: Effect.Effect<A, StoreUnavailable>) =>
      Effect.either(Effect.timeout(Effect.disconnect(effect), callTimeout))

    const joinStore = Effect.gen(function*() {
      const sent = now()
      const lease = yield* store.join({
        nodeId: config.nodeId,
        address: config.address,
        kinds: config.kinds,
        roles: config.roles,
        process,
        ttlMillis: ttl
      })
      return { lease, sent }
    })

    /** At start there is nothing to fence yet: wait up to `ttl` for the store, then fail the layer. */
    const starting = <A>(operation: string, effect: Effect.Effect<A, StoreUnavailable>) =>
      Effect.timeoutFail(Effect.disconnect(effect), {
        duration: config.ttl,
        onTimeout: () => new StoreUnavailable({ operation, reason: `no answer within ${Duration.format(config.ttl)}` })
      })

    const first = yield* starting("join", joinStore)
    const st = {
      incarnation: { nodeId: first.lease.nodeId, epoch: first.lease.epoch } as Incarnation,
      /** Local clock: the instant this node must stop its cluster actors. */
      deadline: first.sent + ttl - margin,
      /** Local clock: since when the lease has been valid without a break; undefined while suspended. */
      validSince: first.sent as number | undefined,
      state: "up" as NodeState,
      /** Declared dead by the store: rejoin under a new epoch. */
      dead: false,
      /** `leaving` was asked for: a resume goes back to it rather than to `up`. */
      leaving: false,
      known: new Map<string, Member["status"]>(),
      initialVersion: first.lease.version,
      version: -1,
      lastPrune: now()
    }
    const selfRef = yield* SubscriptionRef.make(st.incarnation)
    const stateRef = yield* SubscriptionRef.make<NodeState>("up")
    const viewRef = yield* SubscriptionRef.make<View>({ version: 0, now: 0, members: [] })

    const setState = (state: NodeState) =>
      Effect.suspend(() => {
        st.state = state
        return SubscriptionRef.set(stateRef, state)
      })

    /** Diffs a view into NodeJoined/NodeLeft, ordered by the membership version of each change. */
    const apply = (view: View) =>
      locked(Effect.suspend(() => {
        if (view.version <= st.version) return Effect.void
        const first = st.version < 0
        st.version = view.version
        const events: Array<{ readonly at: number; readonly event: Events.Event }> = []
        for (const member of view.members) {
          const before = st.known.get(key(member))
          st.known.set(key(member), member.status)
          const wasLive = before === "up" || before === "leaving"
          const joined = () =>
            events.push({
              at: member.joinedVersion,
              event: new Events.NodeJoined({
                nodeId: member.nodeId,
                epoch: member.epoch,
                address: member.address,
                version: member.joinedVersion
              })
            })
          const left = () =>
            events.push({
              at: member.version,
              event: new Events.NodeLeft({
                nodeId: member.nodeId,
                epoch: member.epoch,
                reason: member.status === "dead" ? "dead" : "left",
                version: member.version
              })
            })
          if (before === undefined) {
            // Seen for the first time: announce it if it is live, or if its whole life came after our start
            // (every node then tells the same story; history from before our start is not replayed).
            if (isLive(member)) joined()
            else if (!first && member.joinedVersion > st.initialVersion) {
              joined()
              left()
            }
          } else if (wasLive && !isLive(member)) left()
        }
        events.sort((a, b) => a.at - b.at)
        for (const { event } of events) publish(event)
        return SubscriptionRef.set(viewRef, view)
      }))

    const suspend = Effect.suspend(() => {
      if (st.state !== "up" && st.state !== "leaving") return Effect.void
      st.validSince = undefined
      publish(new Events.ClusterSuspended({ nodeId: st.incarnation.nodeId, epoch: st.incarnation.epoch }))
      return setState("suspended")
    })

    const renewed = (sent: number) =>
      locked(Effect.suspend(() => {
        st.deadline = Math.max(st.deadline, sent + ttl - margin)
        st.validSince ??= sent
        if (st.state !== "suspended") return Effect.void
        publish(new Events.ClusterResumed({ ...st.incarnation, rejoined: false }))
        return setState(st.leaving ? "leaving" : "up")
      }))

    const rejoin = Effect.gen(function*() {
      const joined = yield* call(joinStore)
      if (Either.isLeft(joined)) return
      const { lease, sent } = joined.right
      yield* locked(Effect.gen(function*() {
        if (st.state === "left") return
        st.incarnation = { nodeId: lease.nodeId, epoch: lease.epoch }
        st.deadline = sent + ttl - margin
        st.validSince = sent
        st.dead = false
        st.leaving = false
        yield* SubscriptionRef.set(selfRef, st.incarnation)
        publish(new Events.ClusterResumed({ ...st.incarnation, rejoined: true }))
        yield* setState("up")
      }))
    })

    const heartbeat = Effect.gen(function*() {
      if (st.state === "left") return
      if (st.dead) return yield* rejoin
      const sent = now()
      const incarnation = st.incarnation
      const result = yield* call(store.renew(incarnation, ttl))
      if (Either.isLeft(result)) return // the deadline fiber suspends if this goes on
      if (result.right) return yield* renewed(sent)
      // 0 rows: declared dead (or left). Dead never comes back: stop, then join again under a new epoch.
      yield* locked(Effect.suspend(() => {
        st.dead = true
        return suspend
      }))
      yield* rejoin
    })

    const deadlineWatch = Effect.gen(function*() {
      while (true) {
        const remaining = yield* locked(Effect.gen(function*() {
          const active = st.state === "up" || st.state === "leaving"
          if (active && now() >= st.deadline) yield* suspend
          return active && now() < st.deadline ? st.deadline - now() : Duration.toMillis(config.heartbeat)
        }))
        yield* Effect.sleep(Duration.millis(Math.max(1, remaining)))
      }
    })

    const reap = Effect.gen(function*() {
      if (st.state === "left") return
      const active = st.state === "up"
      const mayReap = active && st.validSince !== undefined && now() - st.validSince >= ttl
      // Reaping needs fresh expiries (renewals do not move the version); otherwise re-read only on a new version.
      const read = yield* call(store.view(mayReap ? undefined : st.version))
      if (Either.isLeft(read)) return
      if (Option.isSome(read.right)) yield* apply(read.right.value)
      if (!active) return
      // Unchanged version: the last view still lists every member (its expiries are stale, but then mayReap is false).
      const view = Option.isSome(read.right) ? read.right.value : yield* SubscriptionRef.get(viewRef)
      const self = key(st.incarnation)
      let marked = false
      for (const member of view.members) {
        if (!isLive(member) || key(member) === self) continue
        const gone = member.process !== undefined && ProcessProbe.isGone(member.process, host)
        if (!gone && !(mayReap && member.expiresAt < view.now)) continue
        const done = yield* call(store.markDead(member, { proof: gone }))
        if (Either.isRight(done) && done.right) marked = true
      }
      if (marked) {
        const after = yield* call(store.view(st.version))
        if (Either.isRight(after) && Option.isSome(after.right)) yield* apply(after.right.value)
      }
      if (mayReap && now() - st.lastPrune >= Duration.toMillis(pruneEvery)) {
        st.lastPrune = now()
        yield* call(store.prune(Duration.toMillis(config.pruneAfter)))
      }
    })

    const initial = yield* starting("view", store.view())
    if (Option.isSome(initial)) yield* apply(initial.value)
    const peer = { nodeId: config.nodeId, address: config.address }
    yield* discovery.register(peer).pipe(
      Effect.catchAll((error) => Effect.logWarning("discovery: register failed", error))
    )

    yield* Effect.forkScoped(Effect.repeat(heartbeat, Schedule.spaced(config.heartbeat)))
    yield* Effect.forkScoped(deadlineWatch)
    // Every `reapInterval`, or at once when remoting lost a connection to a
    // member (`reapNow`): on one host a killed process is then declared dead
    // within milliseconds rather than at the next tick.
    const wake = yield* Queue.sliding<void>(1)
    yield* Effect.forkScoped(Effect.forever(Effect.zipRight(
      reap,
      Effect.raceFirst(Effect.sleep(config.reapInterval), Queue.take(wake))
    )))

    const leave = Effect.gen(function*() {
      const incarnation = yield* locked(Effect.gen(function*() {
        if (st.state === "left") return undefined
        yield* setState("left")
        return st.incarnation
      }))
      if (incarnation === undefined) return
      yield* Effect.timeout(Effect.disconnect(store.setStatus(incarnation, "left")), Duration.times(config.heartbeat, 2))
        .pipe(Effect.catchAll((error) => Effect.logWarning("membership: could not record the leave", error)))
      yield* discovery.deregister(peer).pipe(
        Effect.catchAll((error) => Effect.logWarning("discovery: deregister failed", error))
      )
    })
    yield* Effect.addFinalizer(() => leave)

    const service: Service = {
      config,
      self: selfRef,
      state: stateRef,
      view: viewRef,
      active: Effect.sync(() => (st.state === "up" || st.state === "leaving") && now() < st.deadline),
      leaving: Effect.gen(function*() {
        const incarnation = st.incarnation
        const done = yield* store.setStatus(incarnation, "leaving")
        if (done) {
          yield* locked(Effect.suspend(() => {
            st.leaving = true
            return st.state === "up" ? setState("leaving") : Effect.void
          }))
        }
        return done
      }),
      leave,
      reapNow: Effect.asVoid(Queue.offer(wake, undefined))
    }
    return service
  })
