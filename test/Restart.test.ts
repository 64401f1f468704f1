import { describe, expect, it } from "@effect/vitest"
import { Effect, Equal, Fiber, Schedule, Schema, TestClock } from "effect"
import { Actor, ActorSystem, Errors, type Pid, Supervisor } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"
import { Add, Fail, FailAsk, Get, makeWorker } from "./support/supervision.js"

const system = ActorSystem.make({ name: "restart", passivateAfter: "never" })

type WorkerPid = Pid.Pid<Fail | Add | Get | FailAsk>

class SpawnKid extends Schema.TaggedRequest<SpawnKid>()("SpawnKid", {
  payload: {},
  success: Schema.Unknown,
  failure: Schema.Never
}) {}

/** A counter with one child worker, that logs its own lifecycle; its second start takes a second. */
const makeHost = (log: Array<string>) => {
  let starts = 0
  return Actor.make("Host", {
    protocol: [SpawnKid, Add, Get],
    initialState: () => 0,
    preStart: () =>
      Effect.suspend(() => {
        log.push("host preStart")
        return starts++ === 1 ? Effect.sleep("1 second") : Effect.void
      }),
    postStop: (ctx: Actor.ReceiveContext<SpawnKid | Add | Get, number>) => Effect.sync(() => log.push(`host postStop ${ctx.state}`)),
    receive: {
      SpawnKid: (_, ctx) => Effect.orDie(ctx.spawnChild(makeWorker(log), "kid")),
      Add: (msg, ctx) => ctx.update((n) => n + msg.n),
      Get: (_, ctx) => ctx.get
    }
  })
}

describe("A7 restart", () => {
  it.scoped("pid.restart: children stopped, postStop, fresh state, preStart; same PID, address and mailbox", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const host = yield* sys.spawn(makeHost(log), "host")
      const kid = (yield* host.ask(new SpawnKid())) as WorkerPid
      yield* host.tell(new Add({ n: 10 }))
      yield* kid.tell(new Add({ n: 1 }))
      expect(yield* host.ask(new Get())).toBe(10)
      const address = String(host.address)

      const restart = yield* Effect.fork(host.restart)
      yield* settle
      // preStart of the new incarnation sleeps: these wait in the same mailbox.
      yield* host.tell(new Add({ n: 5 }))
      const reply = yield* Effect.fork(host.ask(new Get()))
      yield* settle
      expect(reply.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(restart)
      expect(yield* Fiber.join(reply)).toBe(5)

      expect(log).toEqual(["host preStart", "preStart 1", "postStop 1", "host postStop 10", "host preStart"])
      expect(String(host.address)).toBe(address)
      const found = yield* sys.lookup("host")
      expect(found._tag === "Some" && Equal.equals(found.value, host)).toBe(true)
      expect(yield* kid.isAlive).toBe(false)
      expect((yield* sys.lookup("host/kid"))._tag).toBe("None")
      expect((yield* host.metrics).restarts).toBe(1)

      const seen = yield* drainEvents(events)
      const kidStopped = ofTag(seen, "ActorStopped")
      expect(kidStopped.map((e) => [String(e.address), e.reason])).toEqual([[String(kid.address), "ParentStopped"]])
      const restarted = ofTag(seen, "ActorRestarted")
      expect(restarted.map((e) => [String(e.address), e.restarts, e.error])).toEqual([[address, 1, undefined]])
    }))

  it.scoped("system.respawn(name) restarts by name; an unknown name is ActorNotFound", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w")
      yield* pid.tell(new Add({ n: 3 }))
      expect(yield* pid.ask(new Get())).toBe(3)
      yield* sys.respawn("w")
      expect(yield* pid.ask(new Get())).toBe(0)
      // A restart jumps the queue; what was queued before it survives and runs on the fresh state.
      yield* pid.tell(new Add({ n: 4 }))
      yield* sys.respawn("w")
      expect(yield* pid.ask(new Get())).toBe(4)
      expect(log).toEqual(["preStart 1", "postStop 3", "preStart 2", "postStop 0", "preStart 3"])
      expect((yield* nextEvent(events, "ActorRestarted")).restarts).toBe(1)
      expect((yield* nextEvent(events, "ActorRestarted")).restarts).toBe(2)
      expect((yield* pid.metrics).restarts).toBe(2)
      const missing = yield* Effect.flip(sys.respawn("nope"))
      expect(missing).toBeInstanceOf(Errors.ActorNotFound)
    }))

  it.scoped("restarting a stopped actor fails with ActorStopped", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(makeWorker([]), "w")
      yield* pid.stop
      const error = yield* Effect.flip(pid.restart)
      expect(error).toBeInstanceOf(Errors.ActorStopped)
    }))

  it.scoped("manual restarts are counted but do not spend the failure budget", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(makeWorker([]), "w", {
        supervisor: Supervisor.restart({ restarts: Schedule.recurs(1), resetAfter: "1 hour" })
      })
      for (let i = 0; i < 3; i++) yield* pid.restart
      expect((yield* pid.metrics).restarts).toBe(3)
      const events = yield* sys.subscribe
      yield* pid.tell(new Fail({ how: "A" }))
      expect((yield* nextEvent(events, "ActorRestarted")).restarts).toBe(4)
      yield* pid.tell(new Fail({ how: "A" }))
      expect((yield* nextEvent(events, "ActorStopped")).reason).toBe("RestartsExhausted")
    }))

  it.scoped("a preStart that fails during a restart goes back to the supervisor and counts against the budget", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(
        makeWorker(log, {
          failStarts: (start) => start === 2 || start === 3,
          supervisor: Supervisor.restart({ restarts: Schedule.recurs(3), resetAfter: "1 hour" })
        }),
        "w"
      )
      yield* pid.tell(new Add({ n: 1 }))
      yield* pid.tell(new Fail({ how: "A" }))
      // Start 2 and 3 fail (two restarts of the budget), start 4 succeeds (the third).
      const restarted = yield* nextEvent(events, "ActorRestarted")
      expect(restarted.error).toBe("ErrB")
      expect(yield* pid.ask(new Get())).toBe(0)
      expect(log).toEqual(["preStart 1", "postStop 1", "preStart 2", "postStop 0", "preStart 3", "postStop 0", "preStart 4"])
      expect((yield* pid.metrics).restarts).toBe(3)
      // The budget is spent: the next failure stops the actor.
      yield* pid.tell(new Fail({ how: "A" }))
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("RestartsExhausted")
    }))

  it.scoped("an actor stopped while it waits for its restart delay stops without restarting", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w", {
        supervisor: Supervisor.restart({ restarts: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(3))) })
      })
      yield* pid.tell(new Add({ n: 2 }))
      yield* pid.tell(new Fail({ how: "A" }))
      yield* nextEvent(events, "ActorSuspended")
      const stopping = yield* Effect.fork(pid.stop)
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopping)
      expect(log).toEqual(["preStart 1", "postStop 2"])
      const seen = yield* drainEvents(events)
      expect(ofTag(seen, "ActorRestarted")).toEqual([])
      expect(ofTag(seen, "ActorStopped").map((e) => e.reason)).toEqual(["Stopped"])
    }))

  it.scoped("pid.restart whose preStart fails under Stop: the restart fails and the actor stops", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([], { failStarts: (start) => start === 2 }), "w")
      const error = yield* Effect.flip(pid.restart)
      expect(error._tag).toBe("AskFailed")
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("Failed")
      expect(stopped.error).toBe("ErrB")
      expect((yield* sys.lookup("w"))._tag).toBe("None")
    }))
})
