import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, FiberRef, Option, Schema } from "effect"
import { Actor, ActorSystem } from "../../src/index.js"
import { currentFiber, fiberRefReader, MISS, runIfSync, status } from "../../src/internal/effectInternals.js"

/** The `plain` project of vitest.config.ts runs the core suites with this set. */
const plain = (process.env["EFFECT_ACTORS_PLAIN_PATH"] ?? "") !== ""

describe("I8.7 Effect internals", () => {
  it("take the fast path on the effect version in use, the plain path when told to", () => {
    expect(status.fast).toBe(!plain)
    if (plain) expect(status.reason).toContain("EFFECT_ACTORS_PLAIN_PATH")
  })

  it.effect("currentFiber is the running fiber either way", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.withFiberRuntime((fiber) => Effect.succeed(fiber))
      expect(yield* Effect.sync(() => currentFiber())).toBe(fiber)
      expect(Option.getOrUndefined(yield* Fiber.getCurrentFiber().pipe(Effect.succeed))).toBe(fiber)
    }))

  it("fiberRefReader reads nothing outside a fiber", () => {
    expect(fiberRefReader(FiberRef.unsafeMake("initial"))()).toBeUndefined()
  })

  it.effect("fiberRefReader reads the running fiber's value, however its refs changed since", () =>
    Effect.gen(function*() {
      const ref = FiberRef.unsafeMake("initial")
      const read = fiberRefReader(ref)
      const now = Effect.sync(read)
      expect(yield* now).toBe("initial")
      expect(yield* Effect.locally(now, ref, "local")).toBe("local")
      expect(yield* now).toBe("initial")
      yield* FiberRef.set(ref, "set")
      expect(yield* now).toBe("set")
      // Another fiber, then this one again: each reads its own.
      const child = yield* Effect.fork(Effect.locally(Effect.zipRight(Effect.yieldNow(), now), ref, "child"))
      expect(yield* now).toBe("set")
      expect(yield* Fiber.join(child)).toBe("child")
      expect(yield* now).toBe("set")
      // Two fibers taking turns, each changing its value between reads.
      const turns: Array<string> = []
      const takeTurns = (name: string) =>
        Effect.forEach([1, 2, 3], (i) =>
          Effect.zipRight(
            FiberRef.set(ref, `${name}${i}`),
            Effect.zipRight(Effect.yieldNow(), Effect.sync(() => turns.push(`${name}${i}=${read()}`)))
          ), { discard: true })
      yield* Effect.all([takeTurns("a"), takeTurns("b")], { concurrency: 2 })
      expect(turns.sort()).toEqual(["a1=a1", "a2=a2", "a3=a3", "b1=b1", "b2=b2", "b3=b3"])
    }))

  it.effect("tells, asks and stops behave the same on both paths", () =>
    Effect.gen(function*() {
      class Add extends Schema.TaggedClass<Add>()("Add", { n: Schema.Number }) {}
      class Get extends Schema.TaggedRequest<Get>()("Get", { payload: {}, success: Schema.Number, failure: Schema.Never }) {}
      const stopped: Array<number> = []
      const Sum = Actor.make("Sum", {
        protocol: [Add, Get],
        initialState: () => 0,
        receive: { Add: (msg, ctx) => ctx.update((n) => n + msg.n), Get: (_, ctx) => ctx.get },
        postStop: (ctx) => Effect.sync(() => stopped.push(ctx.state))
      })
      const system = yield* ActorSystem.make({ name: "paths" })
      const pid = yield* system.spawn(Sum, "sum")
      for (let i = 1; i <= 100; i++) yield* pid.tell(new Add({ n: i }))
      expect(yield* pid.ask(new Get())).toBe(5050)
      yield* pid.stop
      expect(stopped).toEqual([5050])
      expect((yield* Effect.flip(pid.tell(new Add({ n: 1 }))))._tag).toBe("ActorStopped")
    }).pipe(Effect.scoped))
})

describe.skipIf(plain)("I8.7 the fast path", () => {
  it("runs plain sync thunks and successes inline", () => {
    let ran = 0
    expect(runIfSync(Effect.sync(() => ++ran))).toBe(1)
    expect(runIfSync(Effect.succeed("x"))).toBe("x")
    expect(runIfSync(Effect.void)).toBe(undefined)
    expect(ran).toBe(1)
  })

  it("leaves everything else to the runtime", () => {
    expect(runIfSync(Effect.fail("no"))).toBe(MISS)
    expect(runIfSync(Effect.die("no"))).toBe(MISS)
    expect(runIfSync(Effect.gen(function*() { return 1 }))).toBe(MISS)
    expect(runIfSync(Effect.sleep("1 second"))).toBe(MISS)
    expect(runIfSync(Effect.map(Effect.succeed(1), (n) => n + 1))).toBe(MISS)
  })

  it("lets a throwing thunk throw (the cell turns it into a defect)", () => {
    expect(() => runIfSync(Effect.sync(() => { throw new Error("boom") }))).toThrow("boom")
  })
})

describe.runIf(plain)("I8.7 the plain path", () => {
  it("runs nothing itself", () => {
    let ran = 0
    expect(runIfSync(Effect.sync(() => ++ran))).toBe(MISS)
    expect(runIfSync(Effect.succeed("x"))).toBe(MISS)
    expect(ran).toBe(0)
  })
})
