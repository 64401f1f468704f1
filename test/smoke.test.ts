import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, TestClock } from "effect"
import { Actor, ActorSystem } from "../src/index.js"

class Ping extends Schema.TaggedRequest<Ping>()("Ping", { payload: {}, success: Schema.String, failure: Schema.Never }) {}
class Slow extends Schema.TaggedRequest<Slow>()("Slow", { payload: {}, success: Schema.String, failure: Schema.Never }) {}

const A = Actor.make("A", {
  protocol: [Ping, Slow],
  receive: {
    Ping: () => Effect.succeed("pong"),
    Slow: () => Effect.as(Effect.sleep("10 seconds"), "late")
  }
})

describe("smoke", () => {
  it.scoped("ask and timeout on TestClock", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "t", askTimeout: "1 second" })
      const a = yield* system.spawn(A, "a")
      expect(yield* a.ask(new Ping())).toBe("pong")
      const f = yield* Effect.fork(a.ask(new Slow()))
      yield* TestClock.adjust("2 seconds")
      const exit = yield* Fiber.await(f)
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(exit)).toContain("AskTimeout")
      // Let the sleeping handler finish so the scope can close on the TestClock.
      yield* TestClock.adjust("10 seconds")
    }))
})
