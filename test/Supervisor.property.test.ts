import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Schedule, TestClock } from "effect"
import { ActorSystem, Supervisor } from "../src/index.js"
import { drainEvents, ofTag } from "./helpers.js"
import { Add, Fail, Get, makeWorker } from "./support/supervision.js"

/** A step of a run: a message that succeeds, one that fails, or quiet time (seconds). */
type Step = { readonly _tag: "ok" } | { readonly _tag: "fail" } | { readonly _tag: "wait"; readonly seconds: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ _tag: "ok" } as const),
  fc.constant({ _tag: "fail" } as const),
  fc.integer({ min: 1, max: 15 }).map((seconds) => ({ _tag: "wait", seconds }) as const)
)

const RESET_SECONDS = 10

/**
 * What the strategy promises: a failure restarts while fewer than `budget`
 * restarts happened since the last quiet period of `RESET_SECONDS`; the first
 * failure beyond the budget stops the actor.
 */
const model = (budget: number, steps: ReadonlyArray<Step>) => {
  let now = 0
  let last = -1
  let used = 0
  let restarts = 0
  let maxInWindow = 0
  for (const s of steps) {
    if (s._tag === "wait") now += s.seconds
    if (s._tag !== "fail") continue
    if (last >= 0 && now - last >= RESET_SECONDS) used = 0
    last = now
    if (used === budget) return { restarts, stopped: true, maxInWindow }
    used++
    restarts++
    maxInWindow = Math.max(maxInWindow, used)
  }
  return { restarts, stopped: false, maxInWindow }
}

describe("B2 restart budget (property)", () => {
  it.scoped.prop(
    "restarts never exceed the Schedule's budget between quiet periods, and running out stops the actor",
    [fc.integer({ min: 0, max: 4 }), fc.array(step, { maxLength: 30 })],
    ([budget, steps]) =>
      Effect.scoped(Effect.gen(function*() {
        const sys = yield* ActorSystem.make({ name: "prop", passivateAfter: "never" })
        const events = yield* sys.subscribe
        const pid = yield* sys.spawn(makeWorker([]), "w", {
          supervisor: Supervisor.restart({ restarts: Schedule.recurs(budget), resetAfter: `${RESET_SECONDS} seconds` })
        })
        for (const s of steps) {
          if (s._tag === "wait") {
            yield* TestClock.adjust(`${s.seconds} seconds`)
            continue
          }
          yield* Effect.ignore(pid.tell(s._tag === "ok" ? new Add({ n: 1 }) : new Fail({ how: "A" })))
          // The ask is processed after the step (and after the restart it may cause).
          yield* Effect.exit(pid.ask(new Get()))
        }
        // A stopping actor: wait until it has stopped and published why.
        if (!(yield* pid.isAlive)) yield* pid.stop
        const seen = yield* drainEvents(events)
        const restarted = ofTag(seen, "ActorRestarted")
        const stopped = ofTag(seen, "ActorStopped")
        const expected = model(budget, steps)
        expect(restarted.length).toBe(expected.restarts)
        expect(expected.maxInWindow).toBeLessThanOrEqual(budget)
        expect(stopped.map((e) => e.reason)).toEqual(expected.stopped ? ["RestartsExhausted"] : [])
        expect((yield* sys.lookup("w"))._tag).toBe(expected.stopped ? "None" : "Some")
      })),
    { timeout: 60_000, fastCheck: { numRuns: 60 } }
  )
})
