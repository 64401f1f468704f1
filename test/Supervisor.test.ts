import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schedule, Schema, TestClock } from "effect"
import { Actor, ActorSystem, type Pid, Supervisor } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"
import { Add, ErrA, Fail, FailAsk, Get, makeWorker } from "./support/supervision.js"

const system = (options: Partial<ActorSystem.Options> = {}) =>
  ActorSystem.make({ name: "sup", passivateAfter: "never", ...options })

type WorkerPid = Pid.Pid<Fail | Add | Get | FailAsk>

const same = (a: { readonly address: unknown }, b: { readonly address: unknown }) =>
  String(a.address) === String(b.address)

describe("B1 directives", () => {
  it.scoped("Stop (the default): the actor stops, with reason Failed and the error", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w")
      yield* pid.tell(new Add({ n: 2 }))
      yield* pid.tell(new Fail({ how: "A" }))
      const stopped = yield* nextEvent(events, "ActorStopped", (e) => same(e, pid))
      expect(stopped.reason).toBe("Failed")
      expect(stopped.error).toBe("ErrA")
      expect(log).toEqual(["preStart 1", "postStop 2"])
      expect(yield* pid.isAlive).toBe(false)
      expect((yield* sys.lookup("w"))._tag).toBe("None")
      const refused = yield* Effect.flip(pid.tell(new Add({ n: 1 })))
      expect(refused._tag).toBe("ActorStopped")
    }))

  it.scoped("Resume: drops the failing message, keeps the state and goes on", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w", { supervisor: Supervisor.resume })
      yield* pid.tell(new Add({ n: 2 }))
      yield* pid.tell(new Fail({ how: "A" }))
      yield* pid.tell(new Add({ n: 3 }))
      expect(yield* pid.ask(new Get())).toBe(5)
      // The asker of a failing request learns that it failed; the actor lives on.
      const failed = yield* Effect.flip(pid.ask(new FailAsk()))
      expect(failed._tag).toBe("AskFailed")
      expect(yield* pid.ask(new Get())).toBe(5)
      expect(log).toEqual(["preStart 1"])
      const seen = yield* drainEvents(events)
      expect(ofTag(seen, "ActorStopped")).toEqual([])
      expect(ofTag(seen, "ActorRestarted")).toEqual([])
    }))

  it.scoped("Restart: postStop, fresh state, preStart; later messages are processed; ActorRestarted", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w", {
        supervisor: Supervisor.restart({ restarts: Schedule.recurs(3) })
      })
      yield* pid.tell(new Add({ n: 2 }))
      yield* pid.tell(new Fail({ how: "A" }))
      yield* pid.tell(new Add({ n: 3 }))
      expect(yield* pid.ask(new Get())).toBe(3)
      expect(log).toEqual(["preStart 1", "postStop 2", "preStart 2"])
      const seen = yield* drainEvents(events)
      const suspended = ofTag(seen, "ActorSuspended")
      expect(suspended.map((e) => e.error)).toEqual(["ErrA"])
      const restarted = ofTag(seen, "ActorRestarted")
      expect(restarted.map((e) => [e.restarts, e.error])).toEqual([[1, "ErrA"]])
      expect(same(restarted[0]!, pid)).toBe(true)
    }))

  it.scoped("Escalate: a top-level actor has no parent to escalate to, so it stops", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([]), "w", { supervisor: Supervisor.escalate })
      yield* pid.tell(new Fail({ how: "B" }))
      const stopped = yield* nextEvent(events, "ActorStopped", (e) => same(e, pid))
      expect(stopped.reason).toBe("Failed")
      expect(stopped.error).toBe("ErrB")
    }))

  it.scoped("the system-wide strategy applies to actors spawned without one", () =>
    Effect.gen(function*() {
      const sys = yield* system({ supervisor: Supervisor.resume })
      const pid = yield* sys.spawn(makeWorker([]), "w")
      yield* pid.tell(new Add({ n: 1 }))
      yield* pid.tell(new Fail({ how: "die" }))
      expect(yield* pid.ask(new Get())).toBe(1)
    }))

  it.scoped("a definition's own strategy beats the system's, a spawn's beats both", () =>
    Effect.gen(function*() {
      const sys = yield* system({ supervisor: Supervisor.stop })
      const resuming = makeWorker([], { supervisor: Supervisor.resume })
      const a = yield* sys.spawn(resuming, "a")
      const b = yield* sys.spawn(resuming, "b", { supervisor: Supervisor.stop })
      const events = yield* sys.subscribe
      yield* a.tell(new Add({ n: 1 }))
      yield* a.tell(new Fail({ how: "A" }))
      expect(yield* a.ask(new Get())).toBe(1)
      yield* b.tell(new Fail({ how: "A" }))
      yield* nextEvent(events, "ActorStopped", (e) => same(e, b))
      expect(yield* a.isAlive).toBe(true)
    }))
})

describe("B1 a child inherits its parent's strategy unless given its own", () => {
  class SpawnKid extends Schema.TaggedRequest<SpawnKid>()("SpawnKid", {
    payload: { name: Schema.String, own: Schema.Boolean },
    success: Schema.Unknown,
    failure: Schema.Never
  }) {}
  const Parent = Actor.make("Parent", {
    protocol: [SpawnKid],
    receive: {
      SpawnKid: (msg, ctx) =>
        ctx.spawnChild(makeWorker([]), msg.name, msg.own ? { supervisor: Supervisor.stop } : {}).pipe(Effect.orDie)
    }
  })

  it.scoped("inherited Resume, own Stop", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const parent = yield* sys.spawn(Parent, "p", { supervisor: Supervisor.resume })
      const heir = (yield* parent.ask(new SpawnKid({ name: "heir", own: false }))) as WorkerPid
      const rebel = (yield* parent.ask(new SpawnKid({ name: "rebel", own: true }))) as WorkerPid
      yield* heir.tell(new Add({ n: 4 }))
      yield* heir.tell(new Fail({ how: "throw" }))
      expect(yield* heir.ask(new Get())).toBe(4)
      yield* rebel.tell(new Fail({ how: "throw" }))
      const stopped = yield* nextEvent(events, "ActorStopped", (e) => same(e, rebel))
      expect(stopped.error).toBe("RangeError: thrown")
      expect(yield* heir.isAlive).toBe(true)
    }))
})

describe("B1 a parent's strategy still holds after the parent restarts", () => {
  class SpawnKid extends Schema.TaggedRequest<SpawnKid>()("SpawnKid", {
    payload: {},
    success: Schema.Unknown,
    failure: Schema.Never
  }) {}
  const Parent = Actor.make("Parent", {
    protocol: [SpawnKid],
    receive: { SpawnKid: (_, ctx) => Effect.orDie(ctx.spawnChild(makeWorker([]), "kid")) }
  })

  it.scoped("children spawned after the restart inherit it too", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const parent = yield* sys.spawn(Parent, "p", { supervisor: Supervisor.resume })
      yield* parent.ask(new SpawnKid())
      yield* parent.restart
      const kid = (yield* parent.ask(new SpawnKid())) as WorkerPid
      yield* kid.tell(new Add({ n: 2 }))
      yield* kid.tell(new Fail({ how: "die" }))
      expect(yield* kid.ask(new Get())).toBe(2)
    }))
})

describe("B3 per-error decisions and defects", () => {
  const strategy = Supervisor.make({
    decide: Supervisor.byTag({ ErrA: "Resume", ErrB: "Restart" }, "Stop"),
    restarts: Schedule.recurs(5)
  })

  it.scoped("byTag: ErrA resumes, ErrB restarts, anything else (a defect) stops", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w", { supervisor: strategy })
      yield* pid.tell(new Add({ n: 1 }))
      yield* pid.tell(new Fail({ how: "A" }))
      expect(yield* pid.ask(new Get())).toBe(1)
      yield* pid.tell(new Fail({ how: "B" }))
      expect(yield* pid.ask(new Get())).toBe(0)
      expect(log).toEqual(["preStart 1", "postStop 1", "preStart 2"])
      yield* pid.tell(new Fail({ how: "die" }))
      const stopped = yield* nextEvent(events, "ActorStopped", (e) => same(e, pid))
      expect(stopped.reason).toBe("Failed")
      expect(stopped.error).toBe("Error: died")
    }))

  it.scoped("a predicate sees typed errors and defects alike", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const seen: Array<unknown> = []
      const pid = yield* sys.spawn(makeWorker([]), "w", {
        supervisor: Supervisor.make({
          decide: (error) => {
            seen.push(error)
            return error instanceof RangeError ? "Restart" : "Resume"
          },
          restarts: Schedule.recurs(5)
        })
      })
      yield* pid.tell(new Add({ n: 7 }))
      yield* pid.tell(new Fail({ how: "A" }))
      yield* pid.tell(new Fail({ how: "die" }))
      expect(yield* pid.ask(new Get())).toBe(7)
      yield* pid.tell(new Fail({ how: "throw" }))
      expect(yield* pid.ask(new Get())).toBe(0)
      expect(seen[0]).toBeInstanceOf(ErrA)
      expect(seen[1]).toBeInstanceOf(Error)
      expect((seen[1] as Error).message).toBe("died")
      expect(seen[2]).toBeInstanceOf(RangeError)
    }))

  it.scoped("Effect.die and a throw inside Effect.sync are restarted like errors", () =>
    Effect.gen(function*() {
      const sys = yield* system({ supervisor: Supervisor.restart({ restarts: Schedule.recurs(5) }) })
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([]), "w")
      for (const how of ["die", "throw"] as const) {
        yield* pid.tell(new Add({ n: 1 }))
        yield* pid.tell(new Fail({ how }))
        expect(yield* pid.ask(new Get())).toBe(0)
      }
      const restarted = ofTag(yield* drainEvents(events), "ActorRestarted")
      expect(restarted.map((e) => e.error)).toEqual(["Error: died", "RangeError: thrown"])
    }))

  it.scoped("a handler that throws instead of returning an Effect is supervised like a defect", () =>
    Effect.gen(function*() {
      class Explode extends Schema.TaggedRequest<Explode>()("Explode", {
        payload: {},
        success: Schema.Number,
        failure: Schema.Never
      }) {}
      class Count extends Schema.TaggedRequest<Count>()("Count", {
        payload: {},
        success: Schema.Number,
        failure: Schema.Never
      }) {}
      const A = Actor.make("A", {
        protocol: [Explode, Count],
        initialState: () => 0,
        receive: {
          Explode: (): Effect.Effect<number> => {
            throw new TypeError("not an Effect")
          },
          Count: (_, ctx) => Effect.as(ctx.update((n) => n + 1), ctx.state + 1)
        }
      })
      const sys = yield* system()
      const seen: Array<unknown> = []
      const pid = yield* sys.spawn(A, "a", {
        supervisor: Supervisor.make({ decide: (e) => (seen.push(e), "Restart"), restarts: Schedule.recurs(3) })
      })
      expect(yield* pid.ask(new Count())).toBe(1)
      const error = yield* Effect.flip(pid.ask(new Explode()))
      expect(error._tag).toBe("AskFailed")
      expect(yield* pid.ask(new Count())).toBe(1)
      expect(seen[0]).toBeInstanceOf(TypeError)
    }))

  it.scoped("a request's own typed failure goes to the asker and is not supervised", () =>
    Effect.gen(function*() {
      class Tagged extends Schema.TaggedError<Tagged>()("Tagged", {}) {}
      class Risky extends Schema.TaggedRequest<Risky>()("Risky", {
        payload: {},
        success: Schema.Number,
        failure: Tagged
      }) {}
      const A = Actor.make("A", {
        protocol: [Risky],
        initialState: () => 1,
        receive: { Risky: () => Effect.fail(new Tagged()) }
      })
      const sys = yield* system()
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(A, "a")
      const error = yield* Effect.flip(pid.ask(new Risky()))
      expect(error).toBeInstanceOf(Tagged)
      expect(yield* pid.isAlive).toBe(true)
      expect(ofTag(yield* drainEvents(events), "ActorStopped")).toEqual([])
    }))
})

describe("B2 Schedule-driven restarts", () => {
  it.scoped("the budget runs out: recurs(2) allows two restarts, the third failure stops with RestartsExhausted", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const pid = yield* sys.spawn(makeWorker(log), "w", {
        supervisor: Supervisor.restart({ restarts: Schedule.recurs(2), resetAfter: "1 hour" })
      })
      yield* pid.tell(new Fail({ how: "A" }))
      yield* pid.tell(new Fail({ how: "A" }))
      yield* pid.tell(new Fail({ how: "B" }))
      const stopped = yield* nextEvent(events, "ActorStopped", (e) => same(e, pid))
      expect(stopped.reason).toBe("RestartsExhausted")
      expect(stopped.error).toBe("ErrB")
      expect(log).toEqual(["preStart 1", "postStop 0", "preStart 2", "postStop 0", "preStart 3", "postStop 0"])
    }))

  it.scoped("the default strategy restarts 5 times with exponential backoff from 100 ms", () =>
    Effect.gen(function*() {
      const sys = yield* system({ supervisor: Supervisor.restart() })
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([]), "w")
      const restarts: Array<number> = []
      for (const delay of [100, 200, 400, 800, 1600]) {
        yield* pid.tell(new Fail({ how: "A" }))
        yield* nextEvent(events, "ActorSuspended")
        yield* TestClock.adjust(delay - 1)
        yield* settle
        expect(ofTag(yield* drainEvents(events), "ActorRestarted")).toEqual([])
        yield* TestClock.adjust(1)
        restarts.push((yield* nextEvent(events, "ActorRestarted")).restarts)
      }
      expect(restarts).toEqual([1, 2, 3, 4, 5])
      yield* pid.tell(new Fail({ how: "A" }))
      expect((yield* nextEvent(events, "ActorStopped")).reason).toBe("RestartsExhausted")
    }))

  it.scoped("messages sent during the restart delay wait and are processed after it", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([]), "w", {
        supervisor: Supervisor.restart({ restarts: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(3))) })
      })
      yield* pid.tell(new Fail({ how: "A" }))
      yield* nextEvent(events, "ActorSuspended")
      yield* pid.tell(new Add({ n: 5 }))
      const reply = yield* Effect.fork(pid.ask(new Get()))
      yield* settle
      expect(reply.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(reply)).toBe(5)
    }))

  it.scoped("the budget starts afresh after the quiet period", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([]), "w", {
        supervisor: Supervisor.restart({ restarts: Schedule.recurs(1), resetAfter: "10 seconds" })
      })
      // Failures 10 s apart never exhaust a budget of one.
      for (let i = 0; i < 4; i++) {
        yield* pid.tell(new Fail({ how: "A" }))
        yield* nextEvent(events, "ActorRestarted")
        yield* TestClock.adjust("10 seconds")
      }
      // Two failures within the period do.
      yield* pid.tell(new Fail({ how: "A" }))
      expect((yield* nextEvent(events, "ActorRestarted")).restarts).toBe(5)
      yield* TestClock.adjust("9 seconds")
      yield* pid.tell(new Fail({ how: "A" }))
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("RestartsExhausted")
    }))

  it.scoped("at most 3 restarts within 10 seconds, exponential backoff with jitter", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makeWorker([]), "w", {
        supervisor: Supervisor.restart({
          restarts: Schedule.exponential("100 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3))),
          resetAfter: "10 seconds"
        })
      })
      for (let i = 1; i <= 3; i++) {
        yield* pid.tell(new Fail({ how: "A" }))
        yield* nextEvent(events, "ActorSuspended")
        yield* TestClock.adjust("2 seconds")
        expect((yield* nextEvent(events, "ActorRestarted")).restarts).toBe(i)
      }
      yield* pid.tell(new Fail({ how: "A" }))
      expect((yield* nextEvent(events, "ActorStopped")).reason).toBe("RestartsExhausted")
      const exit = yield* Effect.exit(pid.ask(new Get()))
      expect(Exit.isFailure(exit)).toBe(true)
    }))
})

describe("B1 Escalate through two levels", () => {
  class Grow extends Schema.TaggedRequest<Grow>()("Grow", {
    payload: {},
    success: Schema.Unknown,
    failure: Schema.Never
  }) {}
  class Note extends Schema.TaggedClass<Note>()("Note", {}) {}
  class Notes extends Schema.TaggedRequest<Notes>()("Notes", {
    payload: {},
    success: Schema.Number,
    failure: Schema.Never
  }) {}

  /** parent → child (Escalate) → grandchild (Escalate). */
  const tree = (log: Array<string>) => {
    const Grandchild = makeWorker(log, { supervisor: Supervisor.escalate })
    const Child = Actor.make("Child", {
      protocol: [Grow, Note, Notes],
      initialState: () => 0,
      supervisor: Supervisor.escalate,
      preStart: () => Effect.sync(() => log.push("child preStart")),
      postStop: () => Effect.sync(() => log.push("child postStop")),
      receive: {
        Grow: (_, ctx) => Effect.orDie(ctx.spawnChild(Grandchild, "grandchild")),
        Note: (_, ctx) => ctx.update((n) => n + 1),
        Notes: (_, ctx) => ctx.get
      }
    })
    return Actor.make("Parent", {
      protocol: [Grow],
      preStart: () => Effect.sync(() => log.push("parent preStart")),
      receive: { Grow: (_, ctx) => Effect.orDie(ctx.spawnChild(Child, "child")) }
    })
  }

  const setup = (parentStrategy: Supervisor.Strategy) =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const log: Array<string> = []
      const parent = yield* sys.spawn(tree(log), "parent", { supervisor: parentStrategy })
      const child = (yield* parent.ask(new Grow())) as Pid.Pid<Grow | Note | Notes>
      const grandchild = (yield* child.ask(new Grow())) as WorkerPid
      yield* child.tell(new Note())
      yield* grandchild.tell(new Add({ n: 3 }))
      yield* grandchild.tell(new Fail({ how: "A" }))
      return { sys, events, log, parent, child, grandchild }
    })

  it.scoped("the parent's Resume resumes the child and the grandchild, both keep their state", () =>
    Effect.gen(function*() {
      const { child, events, grandchild, log } = yield* setup(Supervisor.resume)
      const suspended = yield* nextEvent(events, "ActorSuspended", (e) => same(e, child))
      expect(suspended.error).toBe("ErrA")
      yield* grandchild.tell(new Add({ n: 1 }))
      expect(yield* grandchild.ask(new Get())).toBe(4)
      expect(yield* child.ask(new Notes())).toBe(1)
      expect(log.filter((l) => l.includes("postStop"))).toEqual([])
    }))

  it.scoped("the parent's Restart restarts the parent; the child and the failing grandchild are stopped", () =>
    Effect.gen(function*() {
      const { events, grandchild, log, parent, child, sys } = yield* setup(
        Supervisor.restart({ restarts: Schedule.recurs(1) })
      )
      const restarted = yield* nextEvent(events, "ActorRestarted")
      expect(same(restarted, parent)).toBe(true)
      expect(restarted.error).toBe("ErrA")
      expect(yield* parent.isAlive).toBe(true)
      expect(yield* child.isAlive).toBe(false)
      expect(yield* grandchild.isAlive).toBe(false)
      expect(log).toEqual([
        "parent preStart",
        "child preStart",
        "preStart 1",
        "postStop 3",
        "child postStop",
        "parent preStart"
      ])
      expect((yield* sys.lookup("parent/child"))._tag).toBe("None")
      // The restarted parent works: it can grow a new child.
      yield* parent.ask(new Grow())
      expect((yield* sys.lookup("parent/child"))._tag).toBe("Some")
    }))

  it.scoped("the parent's Stop stops the whole tree with the error", () =>
    Effect.gen(function*() {
      const { events, parent, sys } = yield* setup(Supervisor.stop)
      const stopped = yield* nextEvent(events, "ActorStopped", (e) => same(e, parent))
      expect(stopped.reason).toBe("Failed")
      expect(stopped.error).toBe("ErrA")
      expect(yield* sys.count).toBe(0)
    }))
})
