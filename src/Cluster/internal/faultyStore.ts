/**
 * A store decorator that injects latency, failures, hangs and lost replies,
 * switched from tests. Time comes from the `Clock`, so `TestClock` drives
 * latency.
 */
import { Effect, Ref } from "effect"
import { StoreUnavailable } from "../ClusterError.js"
import type { FaultControl, Faults, Operation, Service } from "../ClusterStore.js"

export const make = (inner: Service): Effect.Effect<readonly [Service, FaultControl]> =>
  Effect.gen(function*() {
    const faults = yield* Ref.make<Faults>({})
    const calls = yield* Ref.make<Readonly<Record<string, number>>>({})

    const around = <A>(operation: Operation, call: Effect.Effect<A, StoreUnavailable>) =>
      Effect.flatMap(Ref.get(faults), (current): Effect.Effect<A, StoreUnavailable> => {
        if (current.operations !== undefined && !current.operations.includes(operation)) return reach(operation, call)
        const failure = new StoreUnavailable({ operation, reason: "injected fault" })
        const afterLatency: Effect.Effect<A, StoreUnavailable> = current.hang === true
          ? Effect.never
          : current.fail === true
          ? Effect.fail(failure)
          : current.loseReply === true
          ? Effect.zipRight(reach(operation, call), Effect.fail(failure))
          : reach(operation, call)
        return current.latency === undefined ? afterLatency : Effect.zipRight(Effect.sleep(current.latency), afterLatency)
      })

    const reach = <A>(operation: Operation, call: Effect.Effect<A, StoreUnavailable>) =>
      Effect.zipRight(Ref.update(calls, (counts) => ({ ...counts, [operation]: (counts[operation] ?? 0) + 1 })), call)

    const store: Service = {
      join: (request) => around("join", inner.join(request)),
      renew: (node, ttl) => around("renew", inner.renew(node, ttl)),
      markDead: (node, options) => around("markDead", inner.markDead(node, options)),
      setStatus: (node, status) => around("setStatus", inner.setStatus(node, status)),
      view: (since) => around("view", inner.view(since)),
      claim: (owner, requests) => around("claim", inner.claim(owner, requests)),
      adopt: (to, from, names) => around("adopt", inner.adopt(to, from, names)),
      lookup: (names) => around("lookup", inner.lookup(names)),
      owned: (node) => around("owned", inner.owned(node)),
      release: (name, fence) => around("release", inner.release(name, fence)),
      claimTick: (reference, tickAt) => around("claimTick", inner.claimTick(reference, tickAt)),
      prune: (olderThan) => around("prune", inner.prune(olderThan)),
      now: around("now", inner.now)
    }
    const control: FaultControl = {
      set: (next) => Ref.set(faults, next),
      get: Ref.get(faults),
      calls: Ref.get(calls)
    }
    return [store, control] as const
  })
