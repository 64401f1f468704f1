import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Equal, Exit, FastCheck as fc, Fiber, Option, Schema, TestClock } from "effect"
import { Actor, ActorSystem, Mailbox, Message, Pid } from "../src/index.js"
import { Counter, drainEvents, eventsUntil, GetCount, Increment, nextEvent, Note, Notes, ofTag, settle } from "./helpers.js"

class Work extends Schema.TaggedClass<Work>()("Work", { n: Schema.Number }) {}
class Done extends Schema.TaggedRequest<Done>()("Done", {
  payload: {},
  success: Schema.Array(Schema.Number),
  failure: Schema.Never
}) {}
class Nap extends Schema.TaggedRequest<Nap>()("Nap", {
  payload: { millis: Schema.Number },
  success: Schema.String,
  failure: Schema.Never
}) {}

/** Each Work takes `millis` of (Test)Clock time; the numbers processed are kept. */
const slowWorker = (millis: number, processed: Array<number>) =>
  Actor.make("SlowWorker", {
    protocol: [Work, Done, Nap],
    receive: {
      Work: (msg) => Effect.zipRight(Effect.sleep(millis), Effect.sync(() => void processed.push(msg.n))),
      Done: () => Effect.succeed([...processed]),
      Nap: (msg) => Effect.as(Effect.sleep(msg.millis), "awake")
    }
  })

/** Blocks in its handler until `gate` opens. */
class Hold extends Schema.TaggedClass<Hold>()("Hold", {}) {}
const blocker = (entered: Deferred.Deferred<void>, gate: Deferred.Deferred<void>, seen: Array<string>) =>
  Actor.make("Blocker", {
    protocol: [Hold, Work],
    receive: {
      Hold: () => Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate)),
      Work: (msg) => Effect.sync(() => void seen.push(`work ${msg.n}`))
    },
    postStop: () => Effect.sync(() => void seen.push("postStop"))
  })

describe("A2 PID", () => {
  it.scoped("address, name, equality and the pipeable forms", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pids" })
      const counter = yield* system.spawn(Counter, "counter")
      expect(counter.name).toBe("counter")
      expect(counter.address.toString()).toBe("effect-actors://pids/counter")
      expect(counter.address.path).toEqual(["counter"])
      expect(counter.address.system).toBe("pids")
      const found = Option.getOrThrow(yield* system.lookup("counter"))
      expect(Equal.equals(found, counter)).toBe(true)
      yield* Pid.tell(counter, new Increment({ by: 1 }))
      yield* counter.pipe(Pid.tell(new Increment({ by: 2 })))
      expect(yield* Pid.ask(counter, new GetCount())).toBe(3)
      expect(yield* counter.pipe(Pid.ask(new GetCount(), { timeout: "1 second" }))).toBe(3)
      expect(Pid.isPid(counter)).toBe(true)
      expect(Pid.isPid({ address: "x" })).toBe(false)
    }))

  it.scoped("isAlive follows the lifecycle", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pids" })
      const counter = yield* system.spawn(Counter, "counter")
      expect(yield* counter.isAlive).toBe(true)
      yield* Pid.stop(counter)
      expect(yield* counter.isAlive).toBe(false)
    }))

  it.scoped("a stopped actor answers tell and ask with ActorStopped and a deadletter, never a hang", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pids" })
      const counter = yield* system.spawn(Counter, "counter")
      yield* counter.stop
      const events = yield* system.subscribe
      const before = yield* system.deadletters
      const tellError = yield* Effect.flip(counter.tell(new Increment({ by: 1 })))
      expect(tellError).toMatchObject({
        _tag: "ActorStopped",
        address: "effect-actors://pids/counter",
        messageTag: "Increment"
      })
      const askError = yield* Effect.flip(counter.ask(new GetCount()))
      expect(askError).toMatchObject({ _tag: "ActorStopped", messageTag: "GetCount" })
      const dead = ofTag(yield* drainEvents(events), "Deadletter")
      expect(dead.map((d) => [d.reason, d.message])).toEqual([
        ["actor stopped", new Increment({ by: 1 })],
        ["actor stopped", new GetCount()]
      ])
      expect(yield* system.deadletters).toBe(before + 2)
      // Stopping again is a no-op.
      yield* counter.stop
      yield* counter.kill
    }))

  it.scoped("an untyped PID (from lookup) refuses a message outside the protocol with UnknownMessage", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pids" })
      yield* system.spawn(Counter, "counter")
      const events = yield* system.subscribe
      const pid = Option.getOrThrow(yield* system.lookup("counter"))
      const error = yield* Effect.flip(pid.tell(new Note({ text: "not for counters" })))
      expect(error).toMatchObject({
        _tag: "UnknownMessage",
        address: "effect-actors://pids/counter",
        messageTag: "Note"
      })
      const dead = yield* nextEvent(events, "Deadletter")
      expect(dead.reason).toBe("unknown message")
      // A message of the protocol goes through the untyped PID.
      yield* pid.tell(new Increment({ by: 4 }))
      const counter = pid as unknown as Pid.Pid<Increment | GetCount>
      expect(yield* counter.ask(new GetCount())).toBe(4)
      // An ask outside the protocol is refused the same way, at once.
      const asNotes = pid as unknown as Pid.Pid<Notes>
      expect(yield* Effect.flip(asNotes.ask(new Notes()))).toMatchObject({ _tag: "UnknownMessage", messageTag: "Notes" })
    }))
})

describe("E2 ask", () => {
  it.effect("a timed-out ask fails with AskTimeout and publishes a deadletter (TestClock)", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "asks", askTimeout: "1 second" })
      const events = yield* system.subscribe
      const sleeper = yield* system.spawn(slowWorker(0, []), "sleeper")
      const ask = yield* Effect.fork(sleeper.ask(new Nap({ millis: 5000 })))
      yield* settle
      yield* TestClock.adjust("999 millis")
      expect(ask.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(ask))
      expect(error).toMatchObject({
        _tag: "AskTimeout",
        address: "effect-actors://asks/sleeper",
        messageTag: "Nap",
        timeoutMillis: 1000
      })
      const dead = yield* nextEvent(events, "Deadletter")
      expect(dead.reason).toBe("ask timed out after 1000 ms")
      expect(dead.message).toEqual(new Nap({ millis: 5000 }))
      expect(yield* system.deadletters).toBe(1)
      // The late reply is dropped; the actor goes on.
      yield* TestClock.adjust("5 seconds")
      expect(yield* sleeper.ask(new Nap({ millis: 0 }))).toBe("awake")
    }).pipe(Effect.scoped))

  it.effect("the per-ask timeout overrides the system's", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "asks", askTimeout: "1 hour" })
      const sleeper = yield* system.spawn(slowWorker(0, []), "sleeper")
      const ask = yield* Effect.fork(sleeper.ask(new Nap({ millis: 5000 }), { timeout: "100 millis" }))
      yield* settle
      yield* TestClock.adjust("100 millis")
      const error = yield* Effect.flip(Fiber.join(ask))
      expect(error).toMatchObject({ _tag: "AskTimeout", timeoutMillis: 100 })
      yield* TestClock.adjust("5 seconds")
    }).pipe(Effect.scoped))

  it.effect("several pending asks each time out at their own deadline", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "asks" })
      const sleeper = yield* system.spawn(slowWorker(0, []), "sleeper")
      // The first ask holds the actor for 10 s; the others queue behind it.
      const asks = yield* Effect.forEach([60_000, 300, 100, 200, 60_000], (millis, i) =>
        Effect.fork(sleeper.ask(new Nap({ millis: i === 0 ? 10_000 : 0 }), { timeout: millis })))
      yield* settle
      const done = () => asks.map((fiber) => fiber.unsafePoll() !== null)
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(done()).toEqual([false, false, true, false, false])
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(done()).toEqual([false, false, true, true, false])
      yield* TestClock.adjust("100 millis")
      yield* settle
      expect(done()).toEqual([false, true, true, true, false])
      for (const i of [1, 2, 3]) {
        expect(yield* Effect.flip(Fiber.join(asks[i]!))).toMatchObject({ _tag: "AskTimeout" })
      }
      // At 10 s the first Nap ends and is answered in time; the last ask, still queued, is answered right after.
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(asks[0]!)).toBe("awake")
      expect(yield* Fiber.join(asks[4]!)).toBe("awake")
      expect(yield* system.deadletters).toBe(3)
    }).pipe(Effect.scoped))

  it.scoped("an ask with a non-positive timeout fails with InvalidArgument and sends nothing", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "asks" })
      const counter = yield* system.spawn(Counter, "counter")
      for (const timeout of [0, -5, "0 millis"] as const) {
        const error = yield* Effect.flip(counter.ask(new GetCount(), { timeout }))
        expect(error._tag).toBe("InvalidArgument")
        expect((error as { reason: string }).reason).toContain("positive")
      }
      expect(yield* system.deadletters).toBe(0)
      expect(yield* counter.ask(new GetCount())).toBe(0)
    }))

  it.effect("an interrupted asker leaves the actor working and its reply is dropped", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "asks" })
      const sleeper = yield* system.spawn(slowWorker(0, []), "sleeper")
      const ask = yield* Effect.fork(sleeper.ask(new Nap({ millis: 1000 })))
      yield* settle
      yield* Fiber.interrupt(ask)
      yield* TestClock.adjust("1 second")
      expect(yield* sleeper.ask(new Nap({ millis: 0 }))).toBe("awake")
      expect(yield* system.deadletters).toBe(0)
    }).pipe(Effect.scoped))
})

describe("A6 watch", () => {
  it.scoped("watching an actor that already stopped delivers Terminated at once", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "watch" })
      const seen: Array<string> = []
      class Sync extends Schema.TaggedRequest<Sync>()("Sync", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}
      const Watcher = Actor.make("Watcher", {
        protocol: [Sync],
        receive: {
          Sync: () => Effect.void,
          Terminated: (msg) => Effect.sync(() => void seen.push(`${msg.address} ${msg.reason}`))
        }
      })
      const watcher = yield* system.spawn(Watcher, "watcher")
      const target = yield* system.spawn(Counter, "target")
      yield* target.stop
      yield* watcher.watch(target)
      yield* settle
      yield* watcher.ask(new Sync())
      expect(seen).toEqual(["effect-actors://watch/target Stopped"])
    }))

  it.scoped("pid.watch / pid.unwatch from outside the watcher", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "watch" })
      const seen: Array<string> = []
      class Sync extends Schema.TaggedRequest<Sync>()("Sync", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}
      const Watcher = Actor.make("Watcher", {
        protocol: [Sync],
        receive: {
          Sync: () => Effect.void,
          Terminated: (msg) => Effect.sync(() => void seen.push(`${msg.address} ${msg.reason}`))
        }
      })
      const watcher = yield* system.spawn(Watcher, "watcher")
      const a = yield* system.spawn(Counter, "a")
      const b = yield* system.spawn(Counter, "b")
      yield* watcher.watch(a)
      yield* watcher.watch(b)
      yield* watcher.unwatch(b)
      yield* Pid.poisonPill(a)
      yield* b.kill
      yield* settle
      yield* watcher.ask(new Sync())
      expect(seen).toEqual(["effect-actors://watch/a PoisonPill"])
    }))

  it.scoped("Terminated carries the reason: a failed actor is reported as Failed; a stopped watcher gets nothing", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "watch" })
      const seen: Array<string> = []
      class Sync extends Schema.TaggedRequest<Sync>()("Sync", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}
      class Crash extends Schema.TaggedClass<Crash>()("Crash", {}) {}
      const Watcher = Actor.make("Watcher", {
        protocol: [Sync],
        receive: {
          Sync: () => Effect.void,
          Terminated: (msg) => Effect.sync(() => void seen.push(`${msg.address} ${msg.reason}`))
        }
      })
      const Crashy = Actor.make("Crashy", { protocol: [Crash], receive: { Crash: () => Effect.die("boom") } })
      const watcher = yield* system.spawn(Watcher, "watcher")
      const gone = yield* system.spawn(Watcher, "gone")
      const crashy = yield* system.spawn(Crashy, "crashy")
      yield* watcher.watch(crashy)
      yield* gone.watch(crashy)
      yield* gone.stop
      yield* crashy.tell(new Crash())
      yield* settle
      yield* watcher.ask(new Sync())
      expect(seen).toEqual(["effect-actors://watch/crashy Failed"])
      expect(yield* system.deadletters).toBe(0)
    }))

  it.scoped("an actor without a Terminated handler ignores Terminated (no failure, no deadletter)", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "watch" })
      const watcher = yield* system.spawn(Counter, "watcher")
      const target = yield* system.spawn(Counter, "target")
      yield* watcher.watch(target)
      yield* target.stop
      yield* settle
      expect(yield* watcher.isAlive).toBe(true)
      expect(yield* watcher.ask(new GetCount())).toBe(0)
      expect(yield* system.deadletters).toBe(0)
    }))
})

describe("A5 graceful stop, PoisonPill, kill", () => {
  it.effect("stop drains what is already in the mailbox, then refuses new messages", () =>
    Effect.gen(function*() {
      const processed: Array<number> = []
      const system = yield* ActorSystem.make({ name: "stop", shutdownTimeout: "1 minute" })
      const worker = yield* system.spawn(slowWorker(100, processed), "w")
      for (let n = 1; n <= 5; n++) yield* worker.tell(new Work({ n }))
      const stopping = yield* Effect.fork(worker.stop)
      yield* settle
      // New messages are refused as soon as the stop is requested.
      const refused = yield* Effect.flip(worker.tell(new Work({ n: 6 })))
      expect(refused._tag).toBe("ActorStopped")
      for (let i = 0; i < 5; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      yield* Fiber.join(stopping)
      expect(processed).toEqual([1, 2, 3, 4, 5])
      expect(yield* worker.isAlive).toBe(false)
    }).pipe(Effect.scoped))

  it.effect("what is left after the shutdown timeout becomes deadletters (TestClock)", () =>
    Effect.gen(function*() {
      const processed: Array<number> = []
      const system = yield* ActorSystem.make({ name: "stop", shutdownTimeout: "250 millis" })
      const events = yield* system.subscribe
      const worker = yield* system.spawn(slowWorker(100, processed), "w")
      for (let n = 1; n <= 5; n++) yield* worker.tell(new Work({ n }))
      const stopping = yield* Effect.fork(worker.stop)
      yield* settle
      for (let i = 0; i < 3; i++) {
        yield* TestClock.adjust("100 millis")
        yield* settle
      }
      yield* Fiber.join(stopping)
      expect(processed).toEqual([1, 2])
      expect(yield* worker.isAlive).toBe(false)
      const dead = ofTag(yield* drainEvents(events), "Deadletter").map((d) => (d.message as Work).n)
      // 3 was interrupted in its handler at the deadline; 4 and 5 were never started: none is lost silently.
      expect(dead).toEqual([3, 4, 5])
    }).pipe(Effect.scoped))

  it.scoped("PoisonPill stops after the messages before it; later ones become deadletters", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pill" })
      const events = yield* system.subscribe
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      const pid = yield* system.spawn(blocker(entered, gate, seen), "b")
      yield* pid.tell(new Hold())
      yield* Deferred.await(entered)
      yield* pid.tell(new Work({ n: 1 }))
      yield* pid.tell(new Work({ n: 2 }))
      yield* Pid.poisonPill(pid)
      // Accepted (the pill has not been processed yet), but never handled.
      yield* pid.tell(new Work({ n: 3 }))
      yield* Deferred.succeed(gate, undefined)
      const all = yield* eventsUntil(events, "ActorStopped")
      expect(ofTag(all, "ActorStopped").map((e) => e.reason)).toEqual(["PoisonPill"])
      expect(seen).toEqual(["work 1", "work 2", "postStop"])
      expect(ofTag(all, "Deadletter").map((d) => [d.message, d.reason])).toEqual([
        [new Work({ n: 3 }), "actor stopped before processing it"]
      ])
      expect(yield* Effect.flip(pid.tell(new Work({ n: 4 })))).toMatchObject({ _tag: "ActorStopped" })
    }))

  it.scoped("Message.poisonPill through an untyped PID works the same", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pill" })
      const events = yield* system.subscribe
      yield* system.spawn(Counter, "c")
      const pid = Option.getOrThrow(yield* system.lookup("c"))
      yield* pid.tell(Message.poisonPill)
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("PoisonPill")
      expect(yield* system.count).toBe(0)
    }))

  it.scoped("a PoisonPill built with new (not the shared instance) is a PoisonPill too", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "pill" })
      const events = yield* system.subscribe
      yield* system.spawn(Counter, "c")
      const pid = Option.getOrThrow(yield* system.lookup("c"))
      yield* pid.tell(new Message.PoisonPill())
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("PoisonPill")
    }))

  it.scoped("kill stops at once: the handler in flight is interrupted; it and the queued messages become deadletters", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "kill" })
      const events = yield* system.subscribe
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      const pid = yield* system.spawn(blocker(entered, gate, seen), "b")
      yield* pid.tell(new Hold())
      yield* Deferred.await(entered)
      yield* pid.tell(new Work({ n: 1 }))
      yield* pid.tell(new Work({ n: 2 }))
      yield* pid.kill
      expect(yield* pid.isAlive).toBe(false)
      expect(seen).toEqual(["postStop"])
      const all = yield* drainEvents(events)
      expect(ofTag(all, "Deadletter").map((d) => d.message)).toEqual([
        new Hold(),
        new Work({ n: 1 }),
        new Work({ n: 2 })
      ])
      expect(ofTag(all, "ActorStopped").map((e) => e.reason)).toEqual(["Killed"])
    }))

  it.effect("kill does not wait for a handler that is stuck", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "kill", shutdownTimeout: "1 hour" })
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const seen: Array<string> = []
      const pid = yield* system.spawn(blocker(entered, gate, seen), "b")
      yield* pid.tell(new Hold())
      yield* Deferred.await(entered)
      const killing = yield* Effect.fork(pid.kill)
      yield* settle
      // No clock adjustment: kill must not wait for the shutdown timeout.
      const exit = killing.unsafePoll()
      expect(exit !== null && Exit.isSuccess(exit)).toBe(true)
      expect(seen).toEqual(["postStop"])
      expect(yield* pid.isAlive).toBe(false)
    }).pipe(Effect.scoped))
})

describe("nothing accepted is lost, nothing hangs (property)", () => {
  // "yield" only lets the scheduler interleave the others.
  const Op = fc.constantFrom("tell", "ask", "stop", "kill", "pill", "yield")

  it.effect.prop(
    "any mix of concurrent tells, asks, stops, kills and pills, with an unbounded or a small bounded mailbox",
    [fc.array(Op, { maxLength: 30 }), fc.boolean()],
    ([ops, bounded]) =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "mix" })
      let postStops = 0
      const Target = Actor.make("Target", {
        protocol: [Increment, GetCount],
        initialState: () => 0,
        receive: {
          Increment: (msg, ctx) => Effect.zipRight(Effect.yieldNow(), ctx.update((n) => n + msg.by)),
          GetCount: (_, ctx) => ctx.get
        },
        postStop: () => Effect.sync(() => void postStops++)
      })
      const pid = yield* system.spawn(Target, "t", bounded ? { mailbox: Mailbox.bounded(3) } : {})
      const action = (op: typeof ops[number]): Effect.Effect<unknown, unknown> => {
        switch (op) {
          case "tell":
            return pid.tell(new Increment({ by: 1 }))
          case "ask":
            return pid.ask(new GetCount(), { timeout: "1 second" })
          case "stop":
            return pid.stop
          case "kill":
            return pid.kill
          case "pill":
            return Pid.poisonPill(pid)
          default:
            return Effect.yieldNow()
        }
      }
      const fibers = yield* Effect.forEach(ops, (op) => Effect.fork(Effect.either(action(op))))
      yield* settle
      // An ask that was accepted but never answered nor failed would time out here.
      yield* TestClock.adjust("2 seconds")
      const results = yield* Effect.forEach(fibers, Fiber.join)
      for (const result of results) {
        if (result._tag === "Left") expect(["ActorStopped", "MailboxFull"]).toContain((result.left as { _tag: string })._tag)
      }
      yield* pid.stop
      expect(postStops).toBe(1)
      expect(yield* system.count).toBe(0)
    }).pipe(Effect.scoped),
    { fastCheck: { numRuns: 150 } }
  )
})
