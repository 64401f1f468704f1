import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Option, Queue, Schema, TestClock } from "effect"
import * as Actor from "../src/Actor.js"
import * as ActorSystem from "../src/ActorSystem.js"
import type * as Pid from "../src/Pid.js"
import * as Router from "../src/Router.js"
import * as TestKit from "../src/TestKit.js"

class Work extends Schema.TaggedClass<Work>()("Work", { id: Schema.Number }) {}
class Who extends Schema.TaggedRequest<Who>()("Who", { payload: {}, success: Schema.String, failure: Schema.Never }) {}
class Hello extends Schema.TaggedClass<Hello>()("Hello", {}) {}
class Hi extends Schema.TaggedClass<Hi>()("Hi", { from: Schema.String }) {}

/** Where the routees report the work they did: `[routee name, work id]`. */
class Tally extends Context.Tag("test/Tally")<Tally, Queue.Queue<readonly [string, number]>>() {}

const Worker = Actor.make("Worker", {
  protocol: [Work, Who, Hello],
  receive: {
    Work: (msg, ctx) => Effect.flatMap(Tally, (tally) => Queue.offer(tally, [ctx.self.name, msg.id])),
    Who: (_, ctx) => Effect.succeed(ctx.self.name),
    Hello: (_, ctx) =>
      Option.match(ctx.sender, {
        onNone: () => Effect.void,
        onSome: (sender) => Effect.ignore(sender.tell(new Hi({ from: ctx.self.name })))
      })
  }
})

type WorkerPid = Pid.Pid<Work | Who | Hello>

const withTally = Effect.provideServiceEffect(Tally, Queue.unbounded<readonly [string, number]>())

const system = ActorSystem.make({ name: "routers", passivateAfter: "never" })

/** The work of `n` tells, grouped by routee. */
const collect = (tally: Queue.Queue<readonly [string, number]>, n: number) =>
  Effect.map(Queue.takeN(tally, n), (chunk) => {
    const byRoutee: Record<string, Array<number>> = {}
    for (const [name, id] of chunk) (byRoutee[name] ??= []).push(id)
    return byRoutee
  })

const routee = (sys: ActorSystem.Service, path: string) =>
  Effect.map(sys.lookup(path), (found) => Option.getOrThrow(found) as unknown as WorkerPid)

describe("F1 routers", () => {
  it.scoped("round-robin: each routee in turn, exactly even", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const tally = yield* Tally
      const router = yield* Router.spawn(sys, "rr", { routee: Worker, poolSize: 3, strategy: "round-robin" })
      for (let id = 0; id < 30; id++) yield* router.tell(new Work({ id }))
      const byRoutee = yield* collect(tally, 30)
      expect(byRoutee).toEqual({
        "routee-0": [0, 3, 6, 9, 12, 15, 18, 21, 24, 27],
        "routee-1": [1, 4, 7, 10, 13, 16, 19, 22, 25, 28],
        "routee-2": [2, 5, 8, 11, 14, 17, 20, 23, 26, 29]
      })
    }).pipe(withTally))

  it.scoped("ask through a router: the routee's reply goes to the asker", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const router = yield* Router.spawn(sys, "ask", { routee: Worker, poolSize: 2, strategy: "round-robin" })
      const replies = yield* Effect.forEach([1, 2, 3, 4], () => router.ask(new Who()))
      expect(replies).toEqual(["routee-0", "routee-1", "routee-0", "routee-1"])
    }).pipe(withTally))

  it.scoped("routees see the original sender: their answer goes to it", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TestKit
      const probe = yield* kit.probe()
      const router = yield* Router.spawn("hello", { routee: Worker, poolSize: 2, strategy: "round-robin" })
      yield* probe.tell(router, new Hello())
      yield* probe.expectMessage(new Hi({ from: "routee-0" }))
      yield* probe.tell(router, new Hello())
      yield* probe.expectMessage(new Hi({ from: "routee-1" }))
    }).pipe(withTally, Effect.provide(TestKit.layer())))

  it.scoped("fan-out: every routee gets every message", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const tally = yield* Tally
      const router = yield* Router.spawn(sys, "all", { routee: Worker, poolSize: 3, strategy: "fan-out" })
      for (let id = 0; id < 5; id++) yield* router.tell(new Work({ id }))
      const byRoutee = yield* collect(tally, 15)
      expect(byRoutee).toEqual({
        "routee-0": [0, 1, 2, 3, 4],
        "routee-1": [0, 1, 2, 3, 4],
        "routee-2": [0, 1, 2, 3, 4]
      })
      // An ask fanned out gets one reply: the first routee's to answer.
      expect(["routee-0", "routee-1", "routee-2"]).toContain(yield* router.ask(new Who()))
    }).pipe(withTally))

  it.scoped("random: every message goes to exactly one routee", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const tally = yield* Tally
      const router = yield* Router.spawn(sys, "rnd", { routee: Worker, poolSize: 4, strategy: "random" })
      for (let id = 0; id < 100; id++) yield* router.tell(new Work({ id }))
      const byRoutee = yield* collect(tally, 100)
      const ids = Object.values(byRoutee).flat().sort((a, b) => a - b)
      expect(ids).toEqual(Array.from({ length: 100 }, (_, i) => i))
      expect(yield* Queue.size(tally)).toBe(0)
    }).pipe(withTally))

  it.scoped("the router speaks exactly the routee's protocol (untyped sends are checked)", () =>
    Effect.gen(function*() {
      const sys = yield* system
      yield* Router.spawn(sys, "typed", { routee: Worker, poolSize: 1, strategy: "round-robin" })
      const untyped = Option.getOrThrow(yield* sys.lookup("typed"))
      const error = yield* Effect.flip(untyped.tell(new Hi({ from: "x" })))
      expect(error._tag).toBe("UnknownMessage")
    }).pipe(withTally))

  it.scoped("bad options fail with InvalidArgument; Router.make throws", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const zero = yield* Effect.flip(Router.spawn(sys, "zero", { routee: Worker, poolSize: 0, strategy: "random" }))
      expect(zero._tag).toBe("InvalidArgument")
      const odd = yield* Effect.flip(
        Router.spawn(sys, "odd", { routee: Worker, poolSize: 2, strategy: "smallest-mailbox" as Router.Strategy })
      )
      expect(odd._tag).toBe("InvalidArgument")
      expect(() => Router.make({ routee: Worker, poolSize: 1.5, strategy: "random" })).toThrow(TypeError)
      expect(yield* sys.count).toBe(0)
    }).pipe(withTally))

  it.scoped("a routee that fails to start fails the router's spawn, and leaves nothing running", () =>
    Effect.gen(function*() {
      const sys = yield* system
      let starts = 0
      const Flaky = Actor.make("Flaky", {
        protocol: [Work],
        preStart: () => Effect.suspend(() => ++starts === 3 ? Effect.fail("no") : Effect.void),
        receive: { Work: () => Effect.void }
      })
      const error = yield* Effect.flip(Router.spawn(sys, "flaky", { routee: Flaky, poolSize: 4, strategy: "fan-out" }))
      expect(error._tag).toBe("SpawnFailed")
      expect(yield* sys.count).toBe(0)
      expect(Option.isNone(yield* sys.lookup("flaky"))).toBe(true)
    }))
})

describe("F2 routee death, router lifecycle", () => {
  it.scoped("a dead routee is dropped before the next message", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const tally = yield* Tally
      const router = yield* Router.spawn(sys, "rr", { routee: Worker, poolSize: 3, strategy: "round-robin" })
      yield* (yield* routee(sys, "rr/routee-1")).kill
      for (let id = 0; id < 6; id++) yield* router.tell(new Work({ id }))
      const byRoutee = yield* collect(tally, 6)
      expect(Object.keys(byRoutee).sort()).toEqual(["routee-0", "routee-2"])
      expect(byRoutee["routee-0"]?.length).toBe(3)
      expect(byRoutee["routee-2"]?.length).toBe(3)
      expect(yield* router.isAlive).toBe(true)
    }).pipe(withTally))

  it.scoped("fan-out skips a dead routee", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const tally = yield* Tally
      const router = yield* Router.spawn(sys, "all", { routee: Worker, poolSize: 3, strategy: "fan-out" })
      yield* (yield* routee(sys, "all/routee-0")).stop
      yield* router.tell(new Work({ id: 7 }))
      const byRoutee = yield* collect(tally, 2)
      expect(byRoutee).toEqual({ "routee-1": [7], "routee-2": [7] })
    }).pipe(withTally))

  it.scoped("when the last routee dies the router stops; later messages are deadletters", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TestKit
      const sys = kit.system
      const probe = yield* kit.probe()
      const router = yield* Router.spawn(sys, "rr", { routee: Worker, poolSize: 2, strategy: "random" })
      yield* probe.watch(router)
      yield* (yield* routee(sys, "rr/routee-0")).kill
      yield* (yield* routee(sys, "rr/routee-1")).kill
      yield* probe.expectTerminated(router)
      const before = yield* sys.deadletters
      const error = yield* Effect.flip(router.tell(new Work({ id: 1 })))
      expect(error._tag).toBe("ActorStopped")
      expect(yield* sys.deadletters).toBe(before + 1)
      expect(yield* sys.count).toBe(1) // the probe
    }).pipe(withTally, Effect.provide(TestKit.layer())))

  it.scoped("routees that stop while the router starts: the router stops too", () =>
    Effect.gen(function*() {
      const kit = yield* TestKit.TestKit
      const probe = yield* kit.probe()
      const Quitter = Actor.make("Quitter", {
        protocol: [Work],
        preStart: (ctx) => ctx.stop(ctx.self),
        receive: { Work: () => Effect.void }
      })
      const router = yield* Router.spawn("quitters", { routee: Quitter, poolSize: 2, strategy: "round-robin" })
      yield* probe.expectTerminated(router)
    }).pipe(Effect.provide(TestKit.layer())))

  it.scoped("a router is an actor: stopping it stops its routees", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const router = yield* Router.spawn(sys, "pool", { routee: Worker, poolSize: 3, strategy: "round-robin" })
      expect((yield* sys.actors).map((pid) => String(pid.address.path.join("/"))).sort()).toEqual([
        "pool",
        "pool/routee-0",
        "pool/routee-1",
        "pool/routee-2"
      ])
      yield* router.stop
      expect(yield* sys.count).toBe(0)
    }).pipe(withTally))

  it.scoped("a restarted router spawns a fresh pool and keeps routing", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const router = yield* Router.spawn(sys, "pool", { routee: Worker, poolSize: 2, strategy: "round-robin" })
      const before = yield* routee(sys, "pool/routee-0")
      yield* router.restart
      const after = yield* routee(sys, "pool/routee-0")
      expect(after === before).toBe(false)
      expect(yield* before.isAlive).toBe(false)
      // The old routees' Terminated must not drop the new ones.
      const replies = yield* Effect.forEach([1, 2, 3], () => router.ask(new Who()))
      expect(replies).toEqual(["routee-0", "routee-1", "routee-0"])
      expect(yield* sys.count).toBe(3)
    }).pipe(withTally))

  it.scoped("routers and routees are never passivated", () =>
    Effect.gen(function*() {
      const sys = yield* ActorSystem.make({ name: "idle", passivateAfter: "1 second" })
      const router = yield* Router.spawn(sys, "pool", { routee: Worker, poolSize: 2, strategy: "round-robin" })
      yield* TestClock.adjust("1 hour")
      expect(yield* sys.count).toBe(3)
      expect(yield* router.ask(new Who())).toBe("routee-0")
    }).pipe(withTally))

  it.scoped("a router can be a child: Router.make gives a definition", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const Parent = Actor.make("Parent", {
        protocol: [Who],
        preStart: (ctx) =>
          Effect.asVoid(ctx.spawnChild(Router.make({ routee: Worker, poolSize: 2, strategy: "round-robin" }), "pool")),
        receive: { Who: () => Effect.succeed("parent") }
      })
      yield* sys.spawn(Parent, "parent")
      const pool = yield* routee(sys, "parent/pool")
      expect(yield* pool.ask(new Who())).toBe("routee-0")
      expect(yield* sys.count).toBe(4)
    }).pipe(withTally))
})
