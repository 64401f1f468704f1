import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber, Schedule, TestClock } from "effect"
import { ActorSystem, Supervisor } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"
import { Add, Fail, Get, makeWorker } from "./support/supervision.js"

/** A step of a run: a message that succeeds, one that fails, or quiet time (seconds). */
type Step = { readonly _tag: "ok" } | { readonly _tag: "fail" } | { readonly _tag: "wait"; readonly seconds: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ _tag: "ok" } as const),
  fc.constant({ _tag: "fail" } as const),
  fc.integer({ min: 1, max: 15 }).map((seconds) => ({ _tag: "wait", seconds }) as const)
)

const RESET_SECONDS = 10
/** With `spaced`, every restart waits this long (and the test clock moves on by as much after every failure). */
const DELAY_SECONDS = 1

/**
 * What the strategy promises: a failure restarts while fewer than `budget`
 * restarts happened since the last quiet period of `RESET_SECONDS`; the first
 * failure beyond the budget stops the actor.
 */
const model = (budget: number, spaced: boolean, steps: ReadonlyArray<Step>) => {
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
    if (spaced) now += DELAY_SECONDS
  }
  return { restarts, stopped: false, maxInWindow }
}

describe("B2 restart budget (property)", () => {
  it.scoped.prop(
    "restarts never exceed the Schedule's budget between quiet periods, and running out stops the actor",
    [fc.integer({ min: 0, max: 4 }), fc.boolean(), fc.array(step, { maxLength: 30 })],
    ([budget, spaced, steps]) =>
      Effect.scoped(Effect.gen(function*() {
        const sys = yield* ActorSystem.make({ name: "prop", passivateAfter: "never" })
        const events = yield* sys.subscribe
        const sync = yield* sys.subscribe
        const restarts = spaced
          ? Schedule.spaced(`${DELAY_SECONDS} seconds`).pipe(Schedule.intersect(Schedule.recurs(budget)))
          : Schedule.recurs(budget)
        const pid = yield* sys.spawn(makeWorker([]), "w", {
          supervisor: Supervisor.restart({ restarts, resetAfter: `${RESET_SECONDS} seconds` })
        })
        for (const s of steps) {
          if (s._tag === "wait") {
            yield* TestClock.adjust(`${s.seconds} seconds`)
            continue
          }
          const sent = yield* Effect.exit(pid.tell(s._tag === "ok" ? new Add({ n: 1 }) : new Fail({ how: "A" })))
          // The ask is processed after the step (and after the restart it may cause).
          const synced = yield* Effect.fork(Effect.exit(pid.ask(new Get())))
          if (s._tag === "fail" && spaced && sent._tag === "Success") {
            // Wait until the failure is being handled, then let the restart delay pass.
            yield* nextEvent(sync, "ActorSuspended")
            yield* settle
            yield* TestClock.adjust(`${DELAY_SECONDS} seconds`)
          }
          yield* Fiber.join(synced)
        }
        // A stopping actor: wait until it has stopped and published why.
        if (!(yield* pid.isAlive)) yield* pid.stop
        const seen = yield* drainEvents(events)
        const restarted = ofTag(seen, "ActorRestarted")
        const stopped = ofTag(seen, "ActorStopped")
        const expected = model(budget, spaced, steps)
        expect(restarted.length).toBe(expected.restarts)
        expect(expected.maxInWindow).toBeLessThanOrEqual(budget)
        expect(stopped.map((e) => e.reason)).toEqual(expected.stopped ? ["RestartsExhausted"] : [])
        expect((yield* sys.lookup("w"))._tag).toBe(expected.stopped ? "None" : "Some")
      })),
    { timeout: 60_000, fastCheck: { numRuns: 60 } }
  )
})
