import { describe, expect, it } from "@effect/vitest"
import { Clock, Deferred, Effect, Fiber, Schema, TestClock } from "effect"
import { Actor, ActorSystem } from "../../src/index.js"
import { implOf } from "../../src/internal/system.js"
import { TimerNode, Timers } from "../../src/internal/timers.js"
import { settle } from "../helpers.js"

class Node extends TimerNode {
  fired = 0
  onTimeout(): void {
    this.fired++
  }
}

const makeTimers = Effect.map(Effect.all([Clock.clockWith(Effect.succeed), Effect.runtime<never>()]), ([clock, runtime]) =>
  new Timers(clock, runtime))

describe("I8.6 deadline lists", () => {
  it.effect("100,000 distinct durations leave no list behind once removed", () =>
    Effect.gen(function*() {
      const timers = yield* makeTimers
      const nodes = Array.from({ length: 100_000 }, () => new Node())
      nodes.forEach((node, i) => timers.add(node, 1_000 + i))
      expect(timers.listCount).toBe(100_000)
      for (const node of nodes) timers.remove(node)
      expect(timers.listCount).toBe(0)
      yield* timers.close()
    }))

  it.effect("nor once they fired", () =>
    Effect.gen(function*() {
      const timers = yield* makeTimers
      // Every deadline its own wake-up of the timer fiber: kept small.
      const nodes = Array.from({ length: 500 }, () => new Node())
      nodes.forEach((node, i) => timers.add(node, 1 + i))
      yield* settle
      yield* TestClock.adjust(500)
      yield* settle
      expect(nodes.every((node) => node.fired === 1)).toBe(true)
      expect(timers.listCount).toBe(0)
      yield* timers.close()
    }))

  it.scoped("asks with distinct timeouts, answered or timed out, leave no list behind", () =>
    Effect.gen(function*() {
      class Wait extends Schema.TaggedRequest<Wait>()("Wait", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}
      class Echo extends Schema.TaggedRequest<Echo>()("Echo", { payload: { n: Schema.Number }, success: Schema.Number, failure: Schema.Never }) {}
      const gate = yield* Deferred.make<void>()
      const Gated = Actor.make("Gated", {
        protocol: [Wait, Echo],
        receive: { Wait: () => Deferred.await(gate), Echo: (msg) => Effect.succeed(msg.n) }
      })
      const system = yield* ActorSystem.make({ name: "timers", passivateAfter: "never" })
      const timers = implOf(system)!.timers
      const pid = yield* system.spawn(Gated, "gated")
      // The first ask holds the actor, so the others queue with a deadline each.
      const held = yield* Effect.fork(pid.ask(new Wait(), { timeout: "1 hour" }))
      yield* settle
      const n = 300
      const answered = yield* Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => Effect.fork(pid.ask(new Echo({ n: i }), { timeout: 10_000 + i })),
        { concurrency: "unbounded" }
      )
      const expiring = yield* Effect.forEach(
        Array.from({ length: n }, (_, i) => i),
        (i) => Effect.fork(Effect.either(pid.ask(new Echo({ n: i }), { timeout: 1 + i }))),
        { concurrency: "unbounded" }
      )
      yield* settle
      expect(timers.listCount).toBeGreaterThanOrEqual(2 * n)
      yield* TestClock.adjust(n)
      for (const fiber of expiring) expect((yield* Fiber.join(fiber))._tag).toBe("Left")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(held)
      for (const [i, fiber] of answered.entries()) expect(yield* Fiber.join(fiber)).toBe(i)
      expect(timers.listCount).toBe(0)
    }))
})
