import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Schema, TestClock } from "effect"
import { Actor, ActorSystem, EventStream } from "../../src/index.js"

class Add extends Schema.TaggedRequest<Add>()("Add", {
  payload: { n: Schema.Number },
  success: Schema.Number,
  failure: Schema.Never
}) {}
class SlowAdd extends Schema.TaggedRequest<SlowAdd>()("SlowAdd", {
  payload: { n: Schema.Number },
  success: Schema.Number,
  failure: Schema.Never
}) {}
class Boom extends Schema.TaggedRequest<Boom>()("Boom", { payload: {}, success: Schema.Number, failure: Schema.Never }) {}
class Note extends Schema.TaggedClass<Note>()("Note", { text: Schema.String }) {}

const log: Array<string> = []
const Calc = Actor.make("Calc", {
  protocol: [Add, SlowAdd, Boom, Note],
  initialState: () => 0,
  receive: {
    // A plain sync handler: answered in the asker's stack when the actor is idle.
    Add: (msg, ctx) => ctx.modify((n) => [n + msg.n, n + msg.n] as const),
    // A handler that suspends: handed to a worker, first in line.
    SlowAdd: (msg, ctx) =>
      Effect.gen(function*() {
        yield* Effect.sleep("1 second")
        log.push(`slow ${msg.n}`)
        return yield* ctx.modify((n) => [n + msg.n, n + msg.n] as const)
      }),
    Boom: () =>
      Effect.sync((): number => {
        throw new Error("boom")
      }),
    Note: (msg) => Effect.sync(() => void log.push(msg.text))
  }
})

describe("asks to an idle actor (direct dispatch)", () => {
  it.scoped("sync handlers answer at once and keep state and counts", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "d1" })
      const calc = yield* system.spawn(Calc, "calc")
      expect(yield* calc.ask(new Add({ n: 2 }))).toBe(2)
      expect(yield* calc.ask(new Add({ n: 3 }))).toBe(5)
      expect((yield* calc.metrics).processed).toBe(2)
    }))

  it.scoped("a handler that suspends runs on a worker, before messages sent after the ask", () =>
    Effect.gen(function*() {
      log.length = 0
      const system = yield* ActorSystem.make({ name: "d2" })
      const calc = yield* system.spawn(Calc, "calc")
      const slow = yield* Effect.fork(calc.ask(new SlowAdd({ n: 10 })))
      yield* Effect.yieldNow()
      yield* calc.tell(new Note({ text: "after" }))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(slow)).toBe(10)
      expect(yield* calc.ask(new Add({ n: 1 }))).toBe(11)
      expect(log).toEqual(["slow 10", "after"])
    }))

  it.scoped("a handler that throws goes to the supervisor; the asker gets AskFailed", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "d3" })
      const events = yield* system.subscribe
      const calc = yield* system.spawn(Calc, "calc")
      const exit = yield* Effect.exit(calc.ask(new Boom()))
      expect(Exit.isFailure(exit) && String(exit.cause)).toContain("AskFailed")
      for (;;) {
        const event = yield* events.take
        if (event._tag === "ActorStopped") {
          expect((event as EventStream.ActorStopped).reason).toBe("Failed")
          break
        }
      }
      expect(yield* calc.isAlive).toBe(false)
    }))

  it.scoped("idle time still counts from the end of a directly answered ask", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "d4", passivateAfter: "10 seconds" })
      const calc = yield* system.spawn(Calc, "calc")
      yield* TestClock.adjust("8 seconds")
      expect(yield* calc.ask(new Add({ n: 1 }))).toBe(1)
      yield* TestClock.adjust("8 seconds")
      expect(yield* calc.isAlive).toBe(true)
      yield* TestClock.adjust("3 seconds")
      expect(yield* calc.isAlive).toBe(false)
    }))
})

class Relay extends Schema.TaggedClass<Relay>()("Relay", { text: Schema.String }) {}

describe("tells that cannot fail run as one sync step", () => {
  it.scoped("a handler that returns a tell delivers it (inline), and typed failures still come back", () =>
    Effect.gen(function*() {
      log.length = 0
      const system = yield* ActorSystem.make({ name: "d5" })
      const calc = yield* system.spawn(Calc, "calc")
      const relay = yield* system.spawn(
        Actor.make("Relay", {
          protocol: [Relay],
          receive: { Relay: (msg) => calc.tell(new Note({ text: msg.text })) }
        }),
        "relay"
      )
      yield* relay.tell(new Relay({ text: "one" }))
      yield* relay.tell(new Relay({ text: "two" }))
      // The relay runs on a worker; give it its turns.
      for (let i = 0; i < 100 && log.length < 2; i++) yield* Effect.yieldNow()
      expect(log).toEqual(["one", "two"])
      yield* calc.stop
      const refused = yield* Effect.flip(calc.tell(new Note({ text: "late" })))
      expect(refused._tag).toBe("ActorStopped")
    }))
})
