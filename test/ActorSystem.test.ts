import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, FastCheck as fc, Fiber, Layer, Logger, Option, Schema, Scope, TestClock } from "effect"
import { Actor, ActorSystem, Errors, Mailbox, Pid } from "../src/index.js"
import {
  Counter,
  drainEvents,
  GetCount,
  Increment,
  Journal,
  makeJournal,
  newRootFibers,
  Note,
  Notes,
  ofTag,
  Recorder,
  settle,
  write
} from "./helpers.js"

class AddKid extends Schema.TaggedRequest<AddKid>()("AddKid", {
  payload: { name: Schema.String },
  success: Schema.Void,
  failure: Schema.Never
}) {}
class Sync extends Schema.TaggedRequest<Sync>()("Sync", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}

/** A node of a tree: spawns Node children on request, journals its postStop. */
const TreeNode: Actor.Definition<AddKid | Sync, void, Journal> = Actor.make("TreeNode", {
  protocol: [AddKid, Sync],
  receive: {
    AddKid: (msg, ctx) => Effect.asVoid(ctx.spawnChild(TreeNode, msg.name)),
    Sync: () => Effect.void
  },
  postStop: (ctx) => write(`postStop ${ctx.self.address.path.join("/")}`)
})

class Hold extends Schema.TaggedClass<Hold>()("Hold", {}) {}
class Log extends Schema.TaggedClass<Log>()("Log", { text: Schema.String }) {}

describe("C1 the system as a layer", () => {
  it.effect("ActorSystem.layer provides the service; the accessors use it", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.ActorSystem
      expect(system.name).toBe("shop")
      const counter = yield* ActorSystem.spawn(Counter, "counter")
      expect(counter.address.toString()).toBe("effect-actors://shop/counter")
      const found = yield* ActorSystem.lookup("counter")
      expect(Option.isSome(found)).toBe(true)
      const events = yield* ActorSystem.subscribe
      yield* counter.stop
      expect(ofTag(yield* drainEvents(events), "ActorStopped").length).toBe(1)
    }).pipe(Effect.scoped, Effect.provide(ActorSystem.layer({ name: "shop" }))))

  it.scoped("an invalid system name fails the layer with InvalidName", () =>
    Effect.gen(function*() {
      for (const name of ["", "bad name", "-leading", "a/b", "x".repeat(256)]) {
        const error = yield* Effect.flip(Layer.build(ActorSystem.layer({ name })))
        expect(error._tag).toBe("InvalidName")
        expect((error as Errors.InvalidName).value).toBe(name)
        expect(error.reason.length).toBeGreaterThan(0)
      }
      const error = yield* Effect.flip(ActorSystem.make({ name: "no spaces" }))
      expect(error).toMatchObject({ _tag: "InvalidName", value: "no spaces" })
    }))

  it.effect("askTimeout sets the default ask timeout", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "opts", askTimeout: "250 millis" })
      const entered = yield* Deferred.make<void>()
      class Stuck extends Schema.TaggedRequest<Stuck>()("Stuck", {
        payload: {},
        success: Schema.Void,
        failure: Schema.Never
      }) {}
      const Sleeper = Actor.make("Sleeper", {
        protocol: [Stuck],
        receive: { Stuck: () => Effect.zipRight(Deferred.succeed(entered, undefined), Effect.sleep("1 second")) }
      })
      const pid = yield* system.spawn(Sleeper, "s")
      const ask = yield* Effect.fork(pid.ask(new Stuck()))
      yield* Deferred.await(entered)
      yield* TestClock.adjust("250 millis")
      expect(yield* Effect.flip(Fiber.join(ask))).toMatchObject({ _tag: "AskTimeout", timeoutMillis: 250 })
      yield* TestClock.adjust("1 second")
    }).pipe(Effect.scoped))

  it.scoped("mailbox sets the default mailbox; a spawn option overrides it", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "opts", mailbox: Mailbox.bounded(1) })
      const tight = yield* system.spawn(Counter, "tight")
      const roomy = yield* system.spawn(Counter, "roomy", { mailbox: Mailbox.unbounded })
      // Both tells are offered before either actor runs: the second overflows the bounded default.
      yield* tight.tell(new Increment({ by: 1 }))
      const error = yield* Effect.flip(tight.tell(new Increment({ by: 1 })))
      expect(error).toMatchObject({ _tag: "MailboxFull", capacity: 1 })
      yield* roomy.tell(new Increment({ by: 1 }))
      yield* roomy.tell(new Increment({ by: 1 }))
      expect(yield* roomy.ask(new GetCount())).toBe(2)
      expect(yield* tight.ask(new GetCount())).toBe(1)
    }))

  it.scoped("logger receives the actors' logs", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => {
        lines.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const system = yield* ActorSystem.make({ name: "opts", logger })
      const Talker = Actor.make("Talker", {
        protocol: [Log, Sync],
        receive: {
          Log: (msg) => Effect.log(msg.text),
          Sync: () => Effect.void
        }
      })
      const pid = yield* system.spawn(Talker, "talker")
      yield* pid.tell(new Log({ text: "hello from an actor" }))
      yield* pid.ask(new Sync())
      expect(lines).toContain("hello from an actor")
    }))
})

describe("C1 spawn, lookup, list, count, stop, kill", () => {
  it.scoped("lookup by name and by parent/child path; actors lists parents before children", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "reg" })
      const root = yield* system.spawn(TreeNode, "root").pipe(Effect.provideService(Journal, makeJournal()))
      yield* root.ask(new AddKid({ name: "kid" }))
      const kid = Option.getOrThrow(yield* system.lookup("root/kid")) as unknown as Pid.Pid<AddKid | Sync>
      yield* kid.ask(new AddKid({ name: "grandkid" }))
      yield* system.spawn(Counter, "other")
      expect(yield* system.count).toBe(4)
      const listed = (yield* system.actors).map((pid) => pid.address.path.join("/"))
      expect(listed.length).toBe(4)
      expect(listed.indexOf("root")).toBeLessThan(listed.indexOf("root/kid"))
      expect(listed.indexOf("root/kid")).toBeLessThan(listed.indexOf("root/kid/grandkid"))
      expect(listed).toContain("other")
      const grandkid = yield* system.lookup("root/kid/grandkid")
      expect(Option.map(grandkid, (pid) => pid.address.toString())).toEqual(
        Option.some("effect-actors://reg/root/kid/grandkid")
      )
      expect(yield* system.lookup("kid")).toEqual(Option.none())
      expect(yield* system.lookup("root/nobody")).toEqual(Option.none())
      expect(yield* system.lookup("nobody/kid")).toEqual(Option.none())
      expect(yield* system.lookup("")).toEqual(Option.none())
    }))

  it.scoped("stop and kill by name; an unknown name is ActorNotFound", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "reg" })
      const events = yield* system.subscribe
      const a = yield* system.spawn(Counter, "a")
      const b = yield* system.spawn(Counter, "b")
      yield* system.stop("a")
      yield* system.kill("b")
      expect(yield* a.isAlive).toBe(false)
      expect(yield* b.isAlive).toBe(false)
      expect(yield* system.count).toBe(0)
      expect(yield* system.lookup("a")).toEqual(Option.none())
      const stopped = ofTag(yield* drainEvents(events), "ActorStopped").map((e) => [e.address.name, e.reason])
      expect(stopped).toEqual([["a", "Stopped"], ["b", "Killed"]])
      expect(yield* Effect.flip(system.stop("a"))).toMatchObject({ _tag: "ActorNotFound", actorName: "a" })
      expect(yield* Effect.flip(system.kill("nobody"))).toMatchObject({ _tag: "ActorNotFound", actorName: "nobody" })
    }))

  it.scoped("a child can be stopped by its path", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "reg" })
      const journal = makeJournal()
      const root = yield* system.spawn(TreeNode, "root").pipe(Effect.provideService(Journal, journal))
      yield* root.ask(new AddKid({ name: "kid" }))
      yield* system.stop("root/kid")
      expect(journal.entries).toEqual(["postStop root/kid"])
      expect(yield* system.count).toBe(1)
    }))

  it.scoped("invalid actor names fail with InvalidName; nothing is registered", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "names" })
      const bad = ["", " ", "has space", "a/b", "-dash-first", ".dot-first", "ünïcode", "x".repeat(256), "tab\t"]
      for (const name of bad) {
        const error = yield* Effect.flip(system.spawn(Counter, name))
        expect(error._tag).toBe("InvalidName")
        expect((error as Errors.InvalidName).value).toBe(name)
      }
      expect(yield* system.count).toBe(0)
      for (const name of ["a", "A9", "order-1", "user_42", "v1.2", "x~y", "9lives", "x".repeat(255)]) {
        yield* system.spawn(Counter, name)
      }
      expect(yield* system.count).toBe(8)
    }))

  it.scoped("a duplicate top-level name fails with NameTaken (we refuse rather than return the existing PID)", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "names" })
      const first = yield* system.spawn(Counter, "dup")
      yield* first.tell(new Increment({ by: 7 }))
      const error = yield* Effect.flip(system.spawn(Recorder, "dup").pipe(Effect.provideService(Journal, makeJournal())))
      expect(error).toMatchObject({ _tag: "NameTaken", actorName: "dup", address: "effect-actors://names/dup" })
      // The first actor is untouched, and the name is free again once it stops.
      expect(yield* first.ask(new GetCount())).toBe(7)
      expect(yield* system.count).toBe(1)
      yield* first.stop
      const second = yield* system.spawn(Recorder, "dup").pipe(Effect.provideService(Journal, makeJournal()))
      yield* second.tell(new Note({ text: "again" }))
      expect(yield* second.ask(new Notes())).toEqual(["again"])
    }))
})

describe("C2 shutdown", () => {
  it.effect("closing the scope stops every actor children-first, each postStop once, and no fiber is left", () =>
    Effect.gen(function*() {
      const journal = makeJournal()
      const before = new Set(yield* Fiber.roots)
      const scope = yield* Scope.make()
      const system = yield* Scope.extend(ActorSystem.make({ name: "down" }), scope)
      const events = yield* system.subscribe
      const a = yield* system.spawn(TreeNode, "a").pipe(Effect.provideService(Journal, journal))
      yield* a.ask(new AddKid({ name: "a1" }))
      yield* a.ask(new AddKid({ name: "a2" }))
      const a1 = Option.getOrThrow(yield* system.lookup("a/a1")) as unknown as Pid.Pid<AddKid | Sync>
      yield* a1.ask(new AddKid({ name: "deep" }))
      const b = yield* system.spawn(TreeNode, "b").pipe(Effect.provideService(Journal, journal))
      const counter = yield* system.spawn(Counter, "counter")
      yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* system.count).toBe(6)

      yield* Scope.close(scope, Exit.void)

      const postStops = journal.entries.filter((e) => e.startsWith("postStop"))
      expect([...postStops].sort()).toEqual(
        ["postStop a", "postStop a/a1", "postStop a/a1/deep", "postStop a/a2", "postStop b"]
      )
      // Children before their parent.
      const at = (entry: string) => postStops.indexOf(entry)
      expect(at("postStop a/a1/deep")).toBeLessThan(at("postStop a/a1"))
      expect(at("postStop a/a1")).toBeLessThan(at("postStop a"))
      expect(at("postStop a/a2")).toBeLessThan(at("postStop a"))
      const stops = ofTag(yield* drainEvents(events), "ActorStopped").map((e) =>
        `${e.address.path.join("/")} ${e.reason}`
      )
      expect(stops.length).toBe(6)
      expect(stops.filter((e) => e.endsWith("SystemShutdown")).sort()).toEqual(
        ["a SystemShutdown", "b SystemShutdown", "counter SystemShutdown"]
      )
      expect(stops.filter((e) => e.endsWith("ParentStopped")).sort()).toEqual(
        ["a/a1 ParentStopped", "a/a1/deep ParentStopped", "a/a2 ParentStopped"]
      )
      expect(yield* system.count).toBe(0)
      expect(yield* system.actors).toEqual([])
      for (const pid of [a, a1, b]) expect(yield* pid.isAlive).toBe(false)
      // No hang and a typed error for anything sent afterwards; spawning is refused.
      expect(yield* Effect.flip(counter.tell(new Increment({ by: 1 })))).toMatchObject({ _tag: "ActorStopped" })
      expect(yield* Effect.flip(counter.ask(new GetCount()))).toMatchObject({ _tag: "ActorStopped" })
      expect(yield* Effect.flip(system.spawn(Counter, "late"))).toMatchObject({ _tag: "ActorStopped" })
      // Every worker and timer fiber the system started has ended.
      let leaked = yield* newRootFibers(before)
      for (let i = 0; i < 50 && leaked.length > 0; i++) {
        yield* Effect.yieldNow()
        leaked = yield* newRootFibers(before)
      }
      expect(leaked.map((fiber) => fiber.id())).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("shutdown drains the mailboxes: messages queued before the close are processed", () =>
    Effect.gen(function*() {
      const journal = makeJournal()
      yield* Effect.scoped(Effect.gen(function*() {
        const system = yield* ActorSystem.make({ name: "down" })
        const rec = yield* system.spawn(Recorder, "rec")
        for (let i = 1; i <= 100; i++) yield* rec.tell(new Note({ text: String(i) }))
      })).pipe(Effect.provideService(Journal, journal))
      const notes = journal.entries.filter((e) => e.startsWith("rec: "))
      expect(notes.length).toBe(100)
      expect(notes[99]).toBe("rec: 100")
      expect(journal.entries.at(-1)).toBe("postStop rec")
    }))

  it.effect("a stuck actor cannot hold the shutdown beyond the shutdown timeout (TestClock)", () =>
    Effect.gen(function*() {
      const journal = makeJournal()
      const entered = yield* Deferred.make<void>()
      const Stuck = Actor.make("Stuck", {
        protocol: [Hold, Log],
        receive: {
          Hold: () => Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never),
          Log: () => Effect.void
        },
        postStop: () => write("postStop stuck")
      })
      const before = new Set(yield* Fiber.roots)
      const scope = yield* Scope.make()
      const system = yield* Scope.extend(ActorSystem.make({ name: "down", shutdownTimeout: "3 seconds" }), scope)
      const events = yield* system.subscribe
      const pid = yield* system.spawn(Stuck, "stuck").pipe(Effect.provideService(Journal, journal))
      yield* pid.tell(new Hold())
      yield* pid.tell(new Log({ text: "never handled" }))
      yield* Deferred.await(entered)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust("2999 millis")
      yield* settle
      expect(closing.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* Fiber.join(closing)
      expect(journal.entries).toEqual(["postStop stuck"])
      // The interrupted message and the one behind it are deadletters, not lost.
      const dead = ofTag(yield* drainEvents(events), "Deadletter").map((d) => d.message)
      expect(dead).toEqual([new Hold(), new Log({ text: "never handled" })])
      // The worker that ran the stuck handler was interrupted: nothing is left running.
      let leaked = yield* newRootFibers(before)
      for (let i = 0; i < 50 && leaked.length > 0; i++) {
        yield* Effect.yieldNow()
        leaked = yield* newRootFibers(before)
      }
      expect(leaked.map((fiber) => fiber.id())).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("a postStop that never ends is cut off by the shutdown timeout too", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const Stubborn = Actor.make("Stubborn", {
        protocol: [Hold],
        receive: { Hold: () => Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never) },
        postStop: () => Effect.never
      })
      const scope = yield* Scope.make()
      const system = yield* Scope.extend(ActorSystem.make({ name: "down", shutdownTimeout: "1 second" }), scope)
      const pid = yield* system.spawn(Stubborn, "s")
      yield* pid.tell(new Hold())
      yield* Deferred.await(entered)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      for (let i = 0; i < 3; i++) {
        yield* settle
        yield* TestClock.adjust("1 second")
      }
      yield* Fiber.join(closing)
      expect(yield* system.count).toBe(0)
    }))

  it.effect("a preStart still running cannot hold the shutdown; its spawn then fails with ActorStopped", () =>
    Effect.gen(function*() {
      const journal = makeJournal()
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const Late = Actor.make("Late", {
        protocol: [Log],
        receive: { Log: () => Effect.void },
        preStart: () => Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate)),
        postStop: () => write("postStop late")
      })
      const scope = yield* Scope.make()
      const system = yield* Scope.extend(ActorSystem.make({ name: "down", shutdownTimeout: "1 second" }), scope)
      const spawning = yield* Effect.fork(system.spawn(Late, "late").pipe(Effect.provideService(Journal, journal)))
      yield* Deferred.await(entered)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      // preStart ends after the shutdown: the actor is stopped at once (postStop runs) and the spawn is refused.
      yield* Deferred.succeed(gate, undefined)
      const error = yield* Effect.flip(Fiber.join(spawning))
      expect(error).toMatchObject({ _tag: "ActorStopped", address: "effect-actors://down/late" })
      expect(journal.entries).toEqual(["postStop late"])
      expect(yield* system.count).toBe(0)
    }))

  it.effect("a system built inside an uninterruptible region can still kill a busy actor", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const Busy = Actor.make("Busy", {
        protocol: [Hold],
        receive: { Hold: () => Effect.zipRight(Deferred.succeed(entered, undefined), Effect.never) }
      })
      const system = yield* Effect.acquireRelease(ActorSystem.make({ name: "down" }), () => Effect.void)
      const pid = yield* system.spawn(Busy, "busy")
      yield* pid.tell(new Hold())
      yield* Deferred.await(entered)
      const killing = yield* Effect.fork(pid.kill)
      yield* settle
      expect(killing.unsafePoll()).not.toBeNull()
      expect(yield* pid.isAlive).toBe(false)
    }).pipe(Effect.scoped))
})

describe("A4 / C2 trees under concurrent spawns and stops (property)", () => {
  const Step = fc.record({
    op: fc.constantFrom("add", "add", "stop", "kill"),
    at: fc.nat()
  })

  it.effect.prop(
    "every spawned actor's postStop runs exactly once, children before parents, and nothing is left",
    [fc.array(Step, { maxLength: 25 })],
    ([steps]) =>
      Effect.gen(function*() {
        const journal = makeJournal()
        const scope = yield* Scope.make()
        const system = yield* Scope.extend(ActorSystem.make({ name: "tree" }), scope)
        yield* system.spawn(TreeNode, "r").pipe(Effect.provideService(Journal, journal))
        const planned: Array<string> = ["r"]
        const spawned = new Set(["r"])
        const fibers = yield* Effect.forEach(steps, (step, k) => {
          const target = planned[step.at % planned.length]!
          if (step.op === "add") {
            const name = `n${k}`
            planned.push(`${target}/${name}`)
            return Effect.fork(
              Effect.flatMap(system.lookup(target), (pid) =>
                Option.match(pid, {
                  onNone: () => Effect.void,
                  onSome: (pid) =>
                    (pid as unknown as Pid.Pid<AddKid>).ask(new AddKid({ name })).pipe(
                      Effect.tap(() => Effect.sync(() => spawned.add(`${target}/${name}`))),
                      Effect.ignore
                    )
                }))
            )
          }
          return Effect.fork(Effect.ignore(step.op === "stop" ? system.stop(target) : system.kill(target)))
        })
        yield* settle
        yield* Effect.forEach(fibers, Fiber.join, { discard: true })
        yield* Scope.close(scope, Exit.void)
        const stopped = journal.entries.map((entry) => entry.replace("postStop ", ""))
        expect([...stopped].sort()).toEqual([...spawned].sort())
        for (const path of stopped) {
          const parent = path.split("/").slice(0, -1).join("/")
          if (parent !== "") expect(stopped.indexOf(path)).toBeLessThan(stopped.indexOf(parent))
        }
        expect(yield* system.count).toBe(0)
      }),
    { fastCheck: { numRuns: 100 } }
  )
})
