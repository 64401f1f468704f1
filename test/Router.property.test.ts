/**
 * Distribution properties of the routers, with fast-check: round-robin is
 * exactly even for any pool and any number of messages; random stays within a
 * statistical bound for any seed, and is reproducible under a seeded
 * `Random`; fan-out delivers everything everywhere.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, FastCheck as fc, Queue, Random, Schema } from "effect"
import * as Actor from "../src/Actor.js"
import * as ActorSystem from "../src/ActorSystem.js"
import * as Router from "../src/Router.js"

class Work extends Schema.TaggedClass<Work>()("Work", { id: Schema.Number }) {}

class Tally extends Context.Tag("test/Tally")<Tally, Queue.Queue<readonly [string, number]>>() {}

const Worker = Actor.make("Worker", {
  protocol: [Work],
  receive: {
    Work: (msg, ctx) => Effect.flatMap(Tally, (tally) => Queue.offer(tally, [ctx.self.name, msg.id]))
  }
})

/**
 * Spawns a router in a fresh system (its `Random` seeded when `seed` is
 * given), tells it `n` messages, and returns which routee got each id.
 */
const route = (strategy: Router.Strategy, poolSize: number, n: number, seed?: number) =>
  Effect.scoped(Effect.gen(function*() {
    const tally = yield* Queue.unbounded<readonly [string, number]>()
    const make = ActorSystem.make({ name: "props", passivateAfter: "never" })
    const system = yield* (seed === undefined ? make : Effect.withRandom(make, Random.make(seed)))
    const router = yield* Router.spawn(system, "router", { routee: Worker, poolSize, strategy }).pipe(
      Effect.provideService(Tally, tally)
    )
    yield* router.batchTell(Array.from({ length: n }, (_, id) => new Work({ id })))
    const deliveries = yield* Queue.takeN(tally, strategy === "fan-out" ? n * poolSize : n)
    return [...deliveries]
  }))

const countBy = (deliveries: ReadonlyArray<readonly [string, number]>, poolSize: number) => {
  const counts = new Map<string, number>()
  for (let i = 0; i < poolSize; i++) counts.set(`routee-${i}`, 0)
  for (const [name] of deliveries) counts.set(name, (counts.get(name) ?? 0) + 1)
  return counts
}

describe("F1 router distribution (properties)", () => {
  it.effect.prop(
    "round-robin: routee i gets exactly the ids congruent to i",
    [fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 200 })],
    ([poolSize, n]) =>
      Effect.gen(function*() {
        const deliveries = yield* route("round-robin", poolSize, n)
        for (const [name, id] of deliveries) expect(name).toBe(`routee-${id % poolSize}`)
        const counts = [...countBy(deliveries, poolSize).values()]
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(n % poolSize === 0 ? 0 : 1)
      }),
    { fastCheck: { numRuns: 15 } }
  )

  it.effect.prop(
    "random: each routee's share is within 5 standard deviations of n / poolSize, for any seed",
    [fc.integer(), fc.integer({ min: 2, max: 6 })],
    ([seed, poolSize]) =>
      Effect.gen(function*() {
        const n = 600
        const deliveries = yield* route("random", poolSize, n, seed)
        expect(deliveries.length).toBe(n)
        const p = 1 / poolSize
        const mean = n * p
        const bound = 5 * Math.sqrt(n * p * (1 - p))
        for (const count of countBy(deliveries, poolSize).values()) {
          expect(Math.abs(count - mean)).toBeLessThanOrEqual(bound)
        }
      }),
    { fastCheck: { numRuns: 20 } }
  )

  it.effect.prop(
    "random: the same seed routes the same way",
    [fc.integer()],
    ([seed]) =>
      Effect.gen(function*() {
        const assignment = (deliveries: ReadonlyArray<readonly [string, number]>) =>
          [...deliveries].sort((a, b) => a[1] - b[1]).map(([name]) => name)
        const first = assignment(yield* route("random", 4, 100, seed))
        const second = assignment(yield* route("random", 4, 100, seed))
        expect(second).toEqual(first)
      }),
    { fastCheck: { numRuns: 10 } }
  )

  it.effect.prop(
    "fan-out: every routee gets every id, in order",
    [fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 50 })],
    ([poolSize, n]) =>
      Effect.gen(function*() {
        const deliveries = yield* route("fan-out", poolSize, n)
        for (let i = 0; i < poolSize; i++) {
          const ids = deliveries.filter(([name]) => name === `routee-${i}`).map(([, id]) => id)
          expect(ids).toEqual(Array.from({ length: n }, (_, id) => id))
        }
      }),
    { fastCheck: { numRuns: 20 } }
  )
})
