import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Schema, TestClock } from "effect"
import { Actor, ActorSystem, type Pid, Supervisor } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"
import { Add, Fail, FailAsk, Get, makeWorker } from "./support/supervision.js"

/** A request whose handler takes `seconds` of (test) time. */
class Work extends Schema.TaggedRequest<Work>()("Work", {
  payload: { seconds: Schema.Number },
  success: Schema.String,
  failure: Schema.Never
}) {}

const Slow = Actor.make("Slow", {
  protocol: [Work],
  receive: { Work: (msg) => Effect.as(Effect.sleep(`${msg.seconds} seconds`), "done") }
})

const alive = (sys: ActorSystem.Service, name: string) => Effect.map(sys.lookup(name), (found) => found._tag === "Some")

describe("A8 passivation", () => {
  it.scoped("by default an actor idle for 2 minutes is passivated: ActorPassivated, removed, postStop once", () =>
    Effect.gen(function*() {
      const sys = yield* ActorSystem.make({ name: "passivation" })
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w")
      yield* TestClock.adjust("119 seconds")
      yield* settle
      expect(yield* alive(sys, "w")).toBe(true)
      yield* TestClock.adjust("1 second")
      const passivated = yield* nextEvent(events, "ActorPassivated")
      expect(String(passivated.address)).toBe(String(pid.address))
      expect(yield* alive(sys, "w")).toBe(false)
      expect(yield* pid.isAlive).toBe(false)
      expect(yield* sys.count).toBe(0)
      expect(log).toEqual(["preStart 1", "postStop 0"])
      // An ActorPassivated, not an ActorStopped.
      expect(ofTag(yield* drainEvents(events), "ActorStopped")).toEqual([])
      const refused = yield* Effect.flip(pid.ask(new Get()))
      expect(refused._tag).toBe("ActorStopped")
    }))

  it.scoped("every message restarts the idle time", () =>
    Effect.gen(function*() {
      const sys = yield* ActorSystem.make({ name: "passivation" })
      const pid = yield* sys.spawn(makeWorker([]), "w")
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("100 seconds")
        yield* pid.tell(new Add({ n: 1 }))
        yield* settle
      }
      expect(yield* pid.ask(new Get())).toBe(5)
      yield* TestClock.adjust("119 seconds")
      yield* settle
      expect(yield* alive(sys, "w")).toBe(true)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* alive(sys, "w")).toBe(false)
    }))

  it.scoped("idle time counts from the end of the last message: a long handler is never passivated mid-message", () =>
    Effect.gen(function*() {
      const sys = yield* ActorSystem.make({ name: "passivation", askTimeout: "1 minute" })
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(Slow, "slow", { passivateAfter: "1 second" })
      const reply = yield* Effect.fork(pid.ask(new Work({ seconds: 5 })))
      for (let i = 0; i < 4; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(yield* alive(sys, "slow")).toBe(true)
      }
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(reply)).toBe("done")
      // The handler ended at 5 s: still there at 5.9 s, gone at 6 s.
      yield* TestClock.adjust("900 millis")
      yield* settle
      expect(yield* alive(sys, "slow")).toBe(true)
      yield* TestClock.adjust("100 millis")
      yield* nextEvent(events, "ActorPassivated")
      expect(yield* alive(sys, "slow")).toBe(false)
    }))

  it.scoped("passivateAfter: \"never\" turns it off system-wide", () =>
    Effect.gen(function*() {
      const sys = yield* ActorSystem.make({ name: "passivation", passivateAfter: "never" })
      yield* sys.spawn(makeWorker([]), "w")
      yield* TestClock.adjust("10 hours")
      yield* settle
      expect(yield* alive(sys, "w")).toBe(true)
    }))

  it.scoped("per actor: a duration when the system has none, \"never\" when it has one", () =>
    Effect.gen(function*() {
      const off = yield* ActorSystem.make({ name: "off", passivateAfter: "never" })
      const on = yield* ActorSystem.make({ name: "on", passivateAfter: "1 second" })
      yield* off.spawn(makeWorker([]), "short", { passivateAfter: "10 seconds" })
      yield* off.spawn(makeWorker([]), "default")
      yield* on.spawn(makeWorker([]), "forever", { passivateAfter: "never" })
      yield* on.spawn(makeWorker([]), "default")
      yield* on.spawn(makeWorker([], { passivateAfter: "1 minute" }), "definition")
      yield* TestClock.adjust("2 seconds")
      yield* settle
      expect(yield* alive(on, "default")).toBe(false)
      expect(yield* alive(on, "forever")).toBe(true)
      expect(yield* alive(off, "short")).toBe(true)
      yield* TestClock.adjust("8 seconds")
      yield* settle
      expect(yield* alive(off, "short")).toBe(false)
      expect(yield* alive(off, "default")).toBe(true)
      expect(yield* alive(on, "definition")).toBe(true)
      yield* TestClock.adjust("50 seconds")
      yield* settle
      expect(yield* alive(on, "definition")).toBe(false)
      yield* TestClock.adjust("1 hour")
      yield* settle
      expect(yield* alive(on, "forever")).toBe(true)
      expect(yield* alive(off, "default")).toBe(true)
    }))

  it.scoped("the name of a passivated actor can be spawned again", () =>
    Effect.gen(function*() {
      const sys = yield* ActorSystem.make({ name: "passivation", passivateAfter: "1 second" })
      const log: Array<string> = []
      const worker = makeWorker(log)
      yield* sys.spawn(worker, "w")
      yield* TestClock.adjust("1 second")
      yield* settle
      const again = yield* sys.spawn(worker, "w")
      yield* again.tell(new Add({ n: 2 }))
      expect(yield* again.ask(new Get())).toBe(2)
      expect(log).toEqual(["preStart 1", "postStop 0", "preStart 2"])
    }))

  it.scoped("an actor suspended while its parent decides is not passivated meanwhile", () =>
    Effect.gen(function*() {
      class Kid extends Schema.TaggedRequest<Kid>()("Kid", { payload: {}, success: Schema.Unknown, failure: Schema.Never }) {}
      const Parent = Actor.make("Parent", {
        protocol: [Kid, Work],
        receive: {
          Kid: (_, ctx) =>
            Effect.orDie(ctx.spawnChild(makeWorker([]), "kid", {
              supervisor: Supervisor.escalate,
              passivateAfter: "1 second"
            })),
          Work: (msg) => Effect.as(Effect.sleep(`${msg.seconds} seconds`), "done")
        }
      })
      const sys = yield* ActorSystem.make({ name: "passivation", passivateAfter: "never", askTimeout: "1 minute" })
      const parent = yield* sys.spawn(Parent, "parent", { supervisor: Supervisor.resume })
      const kid = (yield* parent.ask(new Kid())) as Pid.Pid<Fail | Add | Get | FailAsk>
      yield* kid.tell(new Add({ n: 1 }))
      // The parent is busy for 10 s: the kid's escalation waits, the kid stays suspended.
      const busy = yield* Effect.fork(parent.ask(new Work({ seconds: 10 })))
      yield* settle
      yield* kid.tell(new Fail({ how: "A" }))
      for (let i = 0; i < 9; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
        expect(yield* alive(sys, "parent/kid")).toBe(true)
      }
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(busy)
      // Resumed with its state, then passivated once idle again.
      expect(yield* kid.ask(new Get())).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* alive(sys, "parent/kid")).toBe(false)
    }))
})
