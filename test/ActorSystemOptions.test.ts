import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { ActorSystem } from "../src/index.js"

describe("C1 system options are checked", () => {
  const bad: ReadonlyArray<[string, ActorSystem.Options, string]> = [
    ["askTimeout 0", { name: "s", askTimeout: 0 }, "askTimeout"],
    ["negative shutdownTimeout", { name: "s", shutdownTimeout: -5 }, "shutdownTimeout"],
    ["passivateAfter 0", { name: "s", passivateAfter: 0 }, "passivateAfter"],
    ["fractional stashCapacity", { name: "s", stashCapacity: 1.5 }, "stashCapacity"],
    ["metrics interval 0", { name: "s", metrics: { interval: 0 } }, "metrics.interval"],
    ["eventBuffer capacity 0", { name: "s", eventBuffer: { capacity: 0 } }, "eventBuffer.capacity"]
  ]
  for (const [label, options, field] of bad) {
    it.scoped(`${label} is refused with InvalidArgument`, () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(ActorSystem.make(options))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = yield* Effect.flip(ActorSystem.make(options))
        expect(error._tag).toBe("InvalidArgument")
        expect(error._tag === "InvalidArgument" && error.reason).toContain(field)
      }))
  }

  it.scoped("good options build a system", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ok", askTimeout: "1 second", passivateAfter: "never" })
      expect(yield* system.count).toBe(0)
    }))
})
