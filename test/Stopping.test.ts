/**
 * Issue 8, item 3: stopping keeps its promises. Closing a system stops a
 * tree children first with each `postStop` exactly once; a stop during a
 * restart delay wins at once; the shutdown timeout bounds stop, kill and
 * shutdown even when a handler cannot be interrupted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option, Schedule, Schema, Scope, TestClock } from "effect"
import { Actor, ActorSystem, Supervisor } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"
import { Add, Fail, makeWorker } from "./support/supervision.js"

class Grow extends Schema.TaggedRequest<Grow>()("Grow", {
  payload: { depth: Schema.Number, width: Schema.Number },
  success: Schema.Void,
  failure: Schema.Never
}) {}

class Hold extends Schema.TaggedClass<Hold>()("Hold", {}) {}

/**
 * A tree node: `Grow` spawns `width` children, each growing one level less.
 * Its `postStop` records its path; odd-named nodes take a suspending
 * `postStop` (the Effect path), the others a plain sync one (the inline path).
 */
const makeNode = (stopped: Array<string>): Actor.Definition<Grow, void, never> => {
  const Node: Actor.Definition<Grow, void, never> = Actor.make("Node", {
    protocol: [Grow],
    receive: {
      Grow: (msg, ctx) =>
        Effect.forEach(
          Array.from({ length: msg.depth > 0 ? msg.width : 0 }, (_, i) => i),
          (i) =>
            Effect.flatMap(
              Effect.orDie(ctx.spawnChild(Node, `n${i}`)),
              (child) => Effect.orDie(child.ask(new Grow({ depth: msg.depth - 1, width: msg.width })))
            ),
          { discard: true }
        )
    },
    postStop: (ctx) => {
      const path = ctx.address.path.join("/")
      const record = () => stopped.push(path)
      return Number(ctx.self.name.slice(1)) % 2 === 1
        ? Effect.zipRight(Effect.yieldNow(), Effect.sync(record))
        : Effect.sync(record)
    }
  })
  return Node
}

describe("I8.3 closing a system", () => {
  it.effect("stops every actor of a tree, children before parents, each postStop exactly once", () =>
    Effect.gen(function*() {
      const stopped: Array<string> = []
      const Node = makeNode(stopped)
      const scope = yield* Scope.make()
      const system = yield* Scope.extend(ActorSystem.make({ name: "tree" }), scope)
      for (let i = 0; i < 3; i++) {
        const root = yield* system.spawn(Node, `n${i}`)
        yield* root.ask(new Grow({ depth: 3, width: 3 }))
      }
      const total = yield* system.count
      expect(total).toBe(3 * (1 + 3 + 9 + 27))
      yield* Scope.close(scope, Exit.void)
      expect(stopped.length).toBe(total)
      expect(new Set(stopped).size).toBe(total)
      // Every actor stopped after each of its descendants.
      const at = new Map(stopped.map((path, i) => [path, i]))
      for (const [path, i] of at) {
        const parent = path.split("/").slice(0, -1).join("/")
        if (parent !== "") expect(at.get(parent)!).toBeGreaterThan(i)
      }
      expect(yield* system.count).toBe(0)
    }))

  it.effect("a plain sync postStop sends as its actor", () =>
    Effect.gen(function*() {
      class Bye extends Schema.TaggedClass<Bye>()("Bye", {}) {}
      const senders: Array<string> = []
      const Sink = Actor.make("Sink", {
        protocol: [Bye],
        receive: {
          Bye: (_, ctx) => Effect.sync(() => senders.push(Option.match(ctx.sender, { onNone: () => "none", onSome: (p) => p.name })))
        }
      })
      const system = yield* ActorSystem.make({ name: "bye" })
      const sink = yield* system.spawn(Sink, "sink")
      const Leaver = Actor.make("Leaver", {
        protocol: [Hold],
        receive: { Hold: () => Effect.void },
        postStop: () => sink.tell(new Bye())
      })
      const leaver = yield* system.spawn(Leaver, "leaver")
      yield* leaver.stop
      yield* settle
      expect(senders).toEqual(["leaver"])
    }).pipe(Effect.scoped))
})

describe("I8.3 a stop during a restart delay", () => {
  const hourly = Supervisor.restart({ restarts: Schedule.spaced("1 hour") })

  for (const how of ["stop", "kill"] as const) {
    it.effect(`wins at once (${how}), without the clock moving`, () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const system = yield* ActorSystem.make({ name: "backoff", shutdownTimeout: "1 hour" })
        const events = yield* system.subscribe
        const pid = yield* system.spawn(makeWorker(log), "w", { supervisor: hourly })
        yield* pid.tell(new Add({ n: 1 }))
        yield* pid.tell(new Fail({ how: "A" }))
        yield* nextEvent(events, "ActorSuspended")
        const stopping = yield* Effect.fork(how === "stop" ? pid.stop : pid.kill)
        yield* settle
        const exit = stopping.unsafePoll()
        expect(exit !== null && Exit.isSuccess(exit)).toBe(true)
        expect(log).toEqual(["preStart 1", "postStop 1"])
        const seen = yield* drainEvents(events)
        expect(ofTag(seen, "ActorRestarted")).toEqual([])
        expect(ofTag(seen, "ActorStopped").map((e) => e.reason)).toEqual([how === "stop" ? "Stopped" : "Killed"])
      }).pipe(Effect.scoped))
  }

  it.effect("wins at once when the system closes", () =>
    Effect.gen(function*() {
      const log: Array<string> = []
      const scope = yield* Scope.make()
      const system = yield* Scope.extend(ActorSystem.make({ name: "backoff", shutdownTimeout: "1 hour" }), scope)
      const events = yield* system.subscribe
      const pid = yield* system.spawn(makeWorker(log), "w", { supervisor: hourly })
      yield* pid.tell(new Fail({ how: "die" }))
      yield* nextEvent(events, "ActorSuspended")
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* settle
      expect(closing.unsafePoll()).not.toBeNull()
      expect(log).toEqual(["preStart 1", "postStop 0"])
    }).pipe(Effect.scoped))
})

describe("I8.3 the shutdown timeout bounds every stop", () => {
  /** Its handler sleeps 20 seconds and cannot be interrupted. */
  const makeStubborn = (entered: Deferred.Deferred<void>, log: Array<string>) =>
    Actor.make("Stubborn", {
      protocol: [Hold, Add],
      receive: {
        Hold: () =>
          Effect.zipRight(Deferred.succeed(entered, undefined), Effect.uninterruptible(Effect.sleep("20 seconds"))),
        Add: () => Effect.void
      },
      postStop: () => Effect.sync(() => log.push("postStop"))
    })

  /** Moves the clock one second at a time until `fiber` is done; returns the seconds it took. */
  const secondsUntilDone = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
    Effect.gen(function*() {
      for (let seconds = 0; seconds < 30; seconds++) {
        yield* settle
        if (fiber.unsafePoll() !== null) return seconds
        yield* TestClock.adjust("1 second")
      }
      return Infinity
    })

  for (const how of ["stop", "kill", "shutdown"] as const) {
    it.effect(`${how}: an uninterruptible handler is abandoned past the bound, with a typed reason and an event`, () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        const entered = yield* Deferred.make<void>()
        const scope = yield* Scope.make()
        const system = yield* Scope.extend(ActorSystem.make({ name: "bound", shutdownTimeout: "1 second" }), scope)
        const events = yield* system.subscribe
        const watcherSaw: Array<string> = []
        const pid = yield* system.spawn(makeStubborn(entered, log), "stubborn")
        const Watcher = Actor.make("Watcher", {
          protocol: [],
          receive: { Terminated: (msg) => Effect.sync(() => watcherSaw.push(msg.reason)) },
          preStart: (ctx) => ctx.watch(pid)
        })
        yield* system.spawn(Watcher, "watcher")
        yield* pid.tell(new Hold())
        yield* pid.tell(new Add({ n: 1 }))
        yield* Deferred.await(entered)
        const stopping = yield* Effect.fork(
          how === "stop" ? pid.stop : how === "kill" ? pid.kill : Scope.close(scope, Exit.void)
        )
        const seconds = yield* secondsUntilDone(stopping)
        // Graceful wait (stop and shutdown only), then the interrupt's wait: one shutdown timeout each.
        expect(seconds).toBe(how === "kill" ? 1 : 2)
        const stopped = ofTag(yield* drainEvents(events), "ActorStopped").filter((e) => e.address.path.join("/") === "stubborn")
        expect(stopped.map((e) => e.reason)).toEqual(["Abandoned"])
        expect(stopped[0]?.error).toContain("shutdown timeout")
        // Abandoned mid-handler: postStop would run beside the handler, so it does not run.
        expect(log).toEqual([])
        expect(yield* pid.isAlive).toBe(false)
        expect(Option.isNone(yield* system.lookup("stubborn"))).toBe(true)
        const refused = yield* Effect.flip(pid.tell(new Add({ n: 1 })))
        expect(refused._tag).toBe("ActorStopped")
        if (how !== "shutdown") {
          yield* settle
          expect(watcherSaw).toEqual(["Abandoned"])
        }
        // The handler may finish later: nothing happens twice.
        yield* TestClock.adjust("20 seconds")
        yield* settle
        expect(log).toEqual([])
        yield* Scope.close(scope, Exit.void)
      }).pipe(Effect.scoped))
  }

  it.effect("an uninterruptible postStop does not hold a stop beyond the bound either", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "bound", shutdownTimeout: "1 second" })
      const Slow = Actor.make("Slow", {
        protocol: [Hold],
        receive: { Hold: () => Effect.void },
        postStop: () => Effect.uninterruptible(Effect.sleep("20 seconds"))
      })
      const pid = yield* system.spawn(Slow, "slow")
      const stopping = yield* Effect.fork(pid.stop)
      const seconds = yield* secondsUntilDone(stopping)
      expect(seconds).toBe(1)
      expect(yield* pid.isAlive).toBe(false)
    }).pipe(Effect.scoped))
})
