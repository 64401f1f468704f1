/**
 * The conformance suite every `ClusterStore` backend passes: memory (under
 * `TestClock`), SQLite (a temp file) and PostgreSQL (a schema of its own).
 * Times are the store's: the memory store moves with `TestClock.adjust`, the
 * SQL stores with real sleeps over short leases.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option, type Scope } from "effect"
import type * as ClusterStore from "../../src/Cluster/ClusterStore.js"

export interface Backend {
  /** A fresh, empty store. */
  readonly make: Effect.Effect<ClusterStore.Service, unknown, Scope.Scope>
  /** Runs on the live clock (SQL) or under `TestClock` (memory). */
  readonly live: boolean
  /** Lets `ms` pass on the store's clock. */
  readonly advance: (ms: number) => Effect.Effect<void>
  /** Property runs (each builds a store). */
  readonly runs: number
}

const ttl = 300

const joinAs = (store: ClusterStore.Service, nodeId: string, extra?: Partial<ClusterStore.JoinRequest>) =>
  store.join({ nodeId, address: `${nodeId}:1`, kinds: ["Counter"], roles: [], ttlMillis: ttl, ...extra })

const claimOne = (store: ClusterStore.Service, owner: ClusterStore.Incarnation, name: string) =>
  Effect.map(store.claim(owner, [{ name, kind: "Counter" }]), (results) => results[0]!)

const fenceOf = (result: ClusterStore.ClaimResult): number => {
  if (result._tag !== "Claimed") throw new Error(`expected Claimed, got ${JSON.stringify(result)}`)
  return result.fence
}

export const storeConformance = (label: string, backend: Backend) => {
  const test = backend.live ? it.scopedLive : it.scoped
  const withStore = <A, E>(body: (store: ClusterStore.Service) => Effect.Effect<A, E, Scope.Scope>) =>
    Effect.flatMap(backend.make, body)

  describe(`ClusterStore conformance: ${label}`, () => {
    describe("membership", () => {
      test("join draws increasing epochs; the view orders members by join and moves its version", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a", { kinds: ["K1", "K2"], roles: ["web"] })
            const b = yield* joinAs(store, "b")
            const a2 = yield* joinAs(store, "a")
            expect(b.epoch).toBeGreaterThan(a.epoch)
            expect(a2.epoch).toBeGreaterThan(b.epoch)
            expect(a2.version).toBeGreaterThan(b.version)
            const view = Option.getOrThrow(yield* store.view())
            expect(view.members.map((m) => [m.nodeId, m.epoch])).toEqual([["a", a.epoch], ["b", b.epoch], [
              "a",
              a2.epoch
            ]])
            const first = view.members[0]!
            expect(first).toMatchObject({ address: "a:1", kinds: ["K1", "K2"], roles: ["web"], status: "up" })
            expect(first.expiresAt).toBeGreaterThanOrEqual(view.now)
            expect(first.expiresAt).toBeLessThanOrEqual(view.now + ttl)
            expect(view.version).toBe(a2.version)
            expect(yield* store.view(view.version)).toEqual(Option.none())
            yield* store.setStatus(b, "leaving")
            const next = Option.getOrThrow(yield* store.view(view.version))
            expect(next.version).toBeGreaterThan(view.version)
            expect(next.members.find((m) => m.epoch === b.epoch)?.status).toBe("leaving")
          })
        ))

      test("the host process travels with the lease", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const process = { hostId: "boot-1/pid:[4026531836]", pid: 4242, pidStart: 123456789 }
            yield* joinAs(store, "a", { process })
            yield* joinAs(store, "b")
            const view = Option.getOrThrow(yield* store.view())
            expect(view.members.map((m) => m.process)).toEqual([process, undefined])
          })
        ))

      test("markDead is refused on a live lease, accepted once it expired or with a proof, and only once", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            expect(yield* store.markDead(a)).toBe(false)
            expect(yield* store.markDead(b, { proof: true })).toBe(true)
            expect(yield* store.markDead(b, { proof: true })).toBe(false)
            yield* backend.advance(ttl + 100)
            expect(yield* store.markDead(a)).toBe(true)
            expect(yield* store.markDead(a)).toBe(false)
            const view = Option.getOrThrow(yield* store.view())
            expect(view.members.map((m) => m.status)).toEqual(["dead", "dead"])
          })
        ))

      test("an expired lease nobody marked dead is revived by renew, and then markDead is refused again", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            yield* backend.advance(ttl + 100)
            expect(yield* store.renew(a, ttl)).toBe(true)
            expect(yield* store.markDead(a)).toBe(false)
          })
        ))

      test("dead never comes back: renew and setStatus hit nothing, a rejoin gets a new epoch", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            expect(yield* store.markDead(a, { proof: true })).toBe(true)
            expect(yield* store.renew(a, ttl)).toBe(false)
            expect(yield* store.setStatus(a, "up")).toBe(false)
            expect(yield* claimOne(store, a, "x")).toEqual({ _tag: "Refused", name: "x" })
            const again = yield* joinAs(store, "a")
            expect(again.epoch).toBeGreaterThan(a.epoch)
            const view = Option.getOrThrow(yield* store.view())
            expect(view.members.map((m) => m.status)).toEqual(["dead", "up"])
          })
        ))

      test("setStatus: up, leaving, left; left is final and cannot be marked dead", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            expect(yield* store.setStatus(a, "leaving")).toBe(true)
            expect(yield* store.renew(a, ttl)).toBe(true)
            expect(yield* claimOne(store, a, "x")).toEqual({ _tag: "Refused", name: "x" })
            expect(yield* store.setStatus(a, "left")).toBe(true)
            expect(yield* store.renew(a, ttl)).toBe(false)
            expect(yield* store.setStatus(a, "up")).toBe(false)
            expect(yield* store.markDead(a, { proof: true })).toBe(false)
          })
        ))

      test("prune drops dead incarnations without rows and old ticks, keeps those with rows", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            yield* joinAs(store, "c")
            yield* claimOne(store, b, "held")
            yield* store.claimTick("cron", 1)
            yield* store.markDead(a, { proof: true })
            yield* store.markDead(b, { proof: true })
            expect(yield* store.prune(60_000)).toBe(0)
            yield* backend.advance(200)
            expect(yield* store.prune(100)).toBe(2)
            const view = Option.getOrThrow(yield* store.view())
            expect(view.members.map((m) => m.nodeId)).toEqual(["b", "c"])
          })
        ))
    })

    describe("directory", () => {
      test("claim: free names are Claimed with increasing fences, live ones Taken with their owner", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            const first = yield* store.claim(a, [{ name: "x", kind: "Counter" }, { name: "y", kind: "Counter" }])
            expect(first.map((r) => r._tag)).toEqual(["Claimed", "Claimed"])
            const [x, y] = first.map(fenceOf)
            expect(y).not.toBe(x)
            const second = yield* store.claim(b, [
              { name: "z", kind: "Counter" },
              { name: "x", kind: "Counter" },
              { name: "z", kind: "Counter" }
            ])
            expect(second[0]!._tag).toBe("Claimed")
            expect(fenceOf(second[0]!)).toBeGreaterThan(Math.max(x!, y!))
            expect(second[1]).toEqual({ _tag: "Taken", name: "x", owner: { nodeId: "a", epoch: a.epoch } })
            expect(second[2]).toEqual(second[0])
            expect(yield* claimOne(store, a, "x")).toEqual({
              _tag: "Taken",
              name: "x",
              owner: { nodeId: "a", epoch: a.epoch }
            })
          })
        ))

      test("a row whose owner is dead or left is taken over under a higher fence; a live expired one is not", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            const c = yield* joinAs(store, "c")
            const x = fenceOf(yield* claimOne(store, a, "x"))
            const y = fenceOf(yield* claimOne(store, c, "y"))
            yield* backend.advance(ttl + 100)
            yield* store.renew(b, ttl)
            expect((yield* claimOne(store, b, "x"))._tag).toBe("Taken")
            yield* store.markDead(a)
            expect(fenceOf(yield* claimOne(store, b, "x"))).toBeGreaterThan(x)
            yield* store.renew(c, ttl)
            yield* store.setStatus(c, "left")
            expect(fenceOf(yield* claimOne(store, b, "y"))).toBeGreaterThan(y)
          })
        ))

      test("claim carries kind, relocate, role and argument bytes; lookup and owned return them", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const args = new Uint8Array([0, 1, 2, 254, 255])
            const [claimed] = yield* store.claim(a, [
              { name: "grain:Cart/7", kind: "Cart", relocate: false, role: "web", args }
            ])
            yield* store.claim(a, [{ name: "plain", kind: "Counter" }])
            const found = yield* store.lookup(["grain:Cart/7", "absent"])
            expect([...found.keys()]).toEqual(["grain:Cart/7"])
            expect(found.get("grain:Cart/7")).toEqual({
              name: "grain:Cart/7",
              kind: "Cart",
              owner: { nodeId: "a", epoch: a.epoch },
              fence: fenceOf(claimed!),
              relocate: false,
              role: "web",
              args,
              live: true
            })
            const owned = yield* store.owned(a)
            expect(owned.map((e) => [e.name, e.relocate, e.role, e.args]).sort()).toEqual([
              ["grain:Cart/7", false, "web", args],
              ["plain", true, undefined, undefined]
            ])
            yield* store.markDead(a, { proof: true })
            expect((yield* store.lookup(["plain"])).get("plain")?.live).toBe(false)
          })
        ))

      test("release deletes the row only under its current fence", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const fence = fenceOf(yield* claimOne(store, a, "x"))
            expect(yield* store.release("x", fence + 1000)).toBe(false)
            expect(yield* store.release("x", fence)).toBe(true)
            expect(yield* store.release("x", fence)).toBe(false)
            expect((yield* store.lookup(["x"])).size).toBe(0)
          })
        ))

      test("adopt moves a dead owner's rows to a live node, once, under new fences", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            const c = yield* joinAs(store, "c")
            const claimed = yield* store.claim(a, [
              { name: "x", kind: "Counter", args: new Uint8Array([7]) },
              { name: "y", kind: "Counter", role: "r" }
            ])
            const other = fenceOf(yield* claimOne(store, c, "z"))
            expect(yield* store.adopt(b, a, ["x", "y"])).toEqual([])
            yield* store.markDead(a, { proof: true })
            const adopted = yield* store.adopt(b, a, ["x", "y", "z", "nope", "x"])
            expect(adopted.map((e) => e.name).sort()).toEqual(["x", "y"])
            for (const entry of adopted) {
              expect(entry.owner).toEqual({ nodeId: "b", epoch: b.epoch })
              expect(entry.fence).toBeGreaterThan(Math.max(...claimed.map(fenceOf)))
            }
            expect(adopted.find((e) => e.name === "x")?.args).toEqual(new Uint8Array([7]))
            expect(adopted.find((e) => e.name === "y")?.role).toBe("r")
            expect(yield* store.adopt(c, a, ["x", "y"])).toEqual([])
            expect((yield* store.lookup(["z"])).get("z")?.fence).toBe(other)
          })
        ))

      test("adopt needs a live (up) adopter", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            yield* claimOne(store, a, "x")
            yield* store.markDead(a, { proof: true })
            yield* store.setStatus(b, "leaving")
            expect(yield* store.adopt(b, a, ["x"])).toEqual([])
          })
        ))

      test("claimTick: one winner per reference and tick", () =>
        withStore((store) =>
          Effect.gen(function*() {
            expect(yield* store.claimTick("report", 1000)).toBe(true)
            expect(yield* store.claimTick("report", 1000)).toBe(false)
            expect(yield* store.claimTick("report", 2000)).toBe(true)
            expect(yield* store.claimTick("other", 1000)).toBe(true)
          })
        ))

      test("large batches are answered in order", () =>
        withStore((store) =>
          Effect.gen(function*() {
            const a = yield* joinAs(store, "a")
            const b = yield* joinAs(store, "b")
            const names = Array.from({ length: 1200 }, (_, i) => `n${i}`)
            yield* store.claim(a, names.filter((_, i) => i % 3 === 0).map((name) => ({ name, kind: "K" })))
            const results = yield* store.claim(b, names.map((name) => ({ name, kind: "K" })))
            expect(results.map((r) => r.name)).toEqual(names)
            expect(results.map((r) => r._tag)).toEqual(names.map((_, i) => i % 3 === 0 ? "Taken" : "Claimed"))
            expect(new Set(results.filter((r) => r._tag === "Claimed").map(fenceOf)).size).toBe(800)
            expect((yield* store.owned(b)).length).toBe(800)
          })
        ))
    })

    describe("properties", () => {
      const Step = fc.oneof(
        fc.record({ op: fc.constant("claim" as const), node: fc.nat(2), names: fc.array(fc.nat(4), { minLength: 1, maxLength: 3 }) }),
        fc.record({ op: fc.constant("kill" as const), node: fc.nat(2) }),
        fc.record({ op: fc.constant("leave" as const), node: fc.nat(2) }),
        fc.record({ op: fc.constant("rejoin" as const), node: fc.nat(2) }),
        fc.record({ op: fc.constant("release" as const), node: fc.nat(2), name: fc.nat(4) }),
        fc.record({ op: fc.constant("adopt" as const), node: fc.nat(2), from: fc.nat(2) })
      )
      const prop = backend.live ? it.scopedLive.prop : it.scoped.prop

      prop(
        "never two live owners of a name, and a name's fence never goes back",
        [fc.array(Step, { minLength: 1, maxLength: 30 })],
        ([steps]) =>
          withStore((store) =>
            Effect.gen(function*() {
              const ids = ["a", "b", "c"]
              const current: Array<ClusterStore.Incarnation> = []
              for (const id of ids) current.push(yield* joinAs(store, id))
              const past: Array<ClusterStore.Incarnation> = []
              /** What each incarnation believes it owns: name -> fence. */
              const believed = new Map<string, Map<string, number>>()
              const live = new Set(current.map((n) => `${n.nodeId}/${n.epoch}`))
              const lastFence = new Map<string, number>()
              const key = (n: ClusterStore.Incarnation) => `${n.nodeId}/${n.epoch}`
              const own = (n: ClusterStore.Incarnation, name: string, fence: number) => {
                expect(fence).toBeGreaterThan(lastFence.get(name) ?? 0)
                lastFence.set(name, fence)
                const mine = believed.get(key(n)) ?? new Map<string, number>()
                mine.set(name, fence)
                believed.set(key(n), mine)
              }
              for (const step of steps) {
                const node = current[step.node]!
                switch (step.op) {
                  case "claim": {
                    const names = step.names.map((i) => `n${i}`)
                    const results = yield* store.claim(node, names.map((name) => ({ name, kind: "K" })))
                    // A name repeated in a batch gets the same answer each time.
                    const distinct = new Map(results.map((result) => [result.name, result]))
                    for (const result of distinct.values()) if (result._tag === "Claimed") own(node, result.name, result.fence)
                    break
                  }
                  case "kill":
                  case "leave": {
                    const done = step.op === "kill"
                      ? yield* store.markDead(node, { proof: true })
                      : yield* store.setStatus(node, "left")
                    if (done) live.delete(key(node))
                    break
                  }
                  case "rejoin": {
                    if (!live.has(key(node))) {
                      past.push(node)
                      current[step.node] = yield* joinAs(store, node.nodeId)
                      live.add(key(current[step.node]!))
                    }
                    break
                  }
                  case "release": {
                    const fence = believed.get(key(node))?.get(`n${step.name}`)
                    if (fence !== undefined && (yield* store.release(`n${step.name}`, fence))) {
                      believed.get(key(node))?.delete(`n${step.name}`)
                    }
                    break
                  }
                  case "adopt": {
                    const from = [...past, ...current].filter((n) => !live.has(key(n)))[step.from]
                    if (from === undefined) break
                    const names = Array.from({ length: 5 }, (_, i) => `n${i}`)
                    for (const entry of yield* store.adopt(node, from, names)) own(node, entry.name, entry.fence)
                    break
                  }
                }
                // The check: among live incarnations, each name has at most one believer holding its current fence.
                const holders = new Map<string, number>()
                for (const [incarnation, names] of believed) {
                  if (!live.has(incarnation)) continue
                  for (const [name, fence] of names) {
                    // A live incarnation's name was never taken over: its fence is still the latest.
                    expect(fence).toBe(lastFence.get(name))
                    holders.set(name, (holders.get(name) ?? 0) + 1)
                  }
                }
                for (const count of holders.values()) expect(count).toBe(1)
                const rows = yield* store.lookup(Array.from({ length: 5 }, (_, i) => `n${i}`))
                for (const [name, entry] of rows) {
                  expect(entry.fence).toBe(lastFence.get(name))
                  if (entry.live) expect(live.has(key(entry.owner))).toBe(true)
                }
              }
            })
          ),
        { fastCheck: { numRuns: backend.runs } }
      )

      prop(
        "racing adopters: each orphan is adopted exactly once",
        [fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 40 })],
        ([adopters, orphans]) =>
          withStore((store) =>
            Effect.gen(function*() {
              const dead = yield* joinAs(store, "dead")
              const names = Array.from({ length: orphans }, (_, i) => `o${i}`)
              yield* store.claim(dead, names.map((name) => ({ name, kind: "K" })))
              const nodes = yield* Effect.forEach(Array.from({ length: adopters }, (_, i) => `s${i}`), (id) =>
                joinAs(store, id))
              yield* store.markDead(dead, { proof: true })
              const results = yield* Effect.forEach(
                nodes,
                (node, i) => store.adopt(node, dead, i % 2 === 0 ? names : [...names].reverse()),
                { concurrency: "unbounded" }
              )
              const adopted = results.flat().map((e) => e.name).sort()
              expect(adopted).toEqual([...names].sort())
              const rows = yield* store.lookup(names)
              for (const entries of results) {
                for (const entry of entries) expect(rows.get(entry.name)?.owner).toEqual(entry.owner)
              }
            })
          ),
        { fastCheck: { numRuns: backend.runs } }
      )

      prop(
        "racing claimants: each name has exactly one winner",
        [fc.integer({ min: 2, max: 4 }), fc.array(fc.nat(20), { minLength: 1, maxLength: 30 })],
        ([claimants, picks]) =>
          withStore((store) =>
            Effect.gen(function*() {
              const nodes = yield* Effect.forEach(Array.from({ length: claimants }, (_, i) => `c${i}`), (id) =>
                joinAs(store, id))
              const names = [...new Set(picks.map((i) => `g${i}`))]
              const results = yield* Effect.forEach(
                nodes,
                (node, i) => store.claim(node, (i % 2 === 0 ? names : [...names].reverse()).map((name) => ({ name, kind: "K" }))),
                { concurrency: "unbounded" }
              )
              for (const name of names) {
                const winners = results.flat().filter((r) => r.name === name && r._tag === "Claimed")
                expect(winners.length).toBe(1)
              }
              const rows = yield* store.lookup(names)
              for (const [i, batch] of results.entries()) {
                for (const r of batch) {
                  const owner = r._tag === "Claimed" ? nodes[i]! : r._tag === "Taken" ? r.owner : undefined
                  expect(rows.get(r.name)?.owner).toEqual({ nodeId: owner!.nodeId, epoch: owner!.epoch })
                }
              }
            })
          ),
        { fastCheck: { numRuns: backend.runs } }
      )
    })
  })
}
