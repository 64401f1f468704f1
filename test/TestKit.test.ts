/**
 * The TestKit's own tests, one example per function (pass and fail): read
 * them as its documentation.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Fiber, Option, Schema, TestClock } from "effect"
import * as Actor from "../src/Actor.js"
import * as ActorSystem from "../src/ActorSystem.js"
import type { ExpectationFailed } from "../src/Errors.js"
import type * as Pid from "../src/Pid.js"
import * as TestKit from "../src/TestKit.js"

// ---------------------------------------------------------------- the actor under test

class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Number, text: Schema.String }) {}
/** Answers `Pong` to the sender after `millis` on the Clock. */
class Later extends Schema.TaggedClass<Later>()("Later", { millis: Schema.Number }) {}
class Count extends Schema.TaggedRequest<Count>()("Count", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}
class WhoAsks extends Schema.TaggedRequest<WhoAsks>()("WhoAsks", {
  payload: {},
  success: Schema.String,
  failure: Schema.Never
}) {}
/** Makes the actor ask its sender a `Question`, and tell it the `Answer`. */
class Consult extends Schema.TaggedClass<Consult>()("Consult", {}) {}
class Question extends Schema.TaggedRequest<Question>()("Question", {
  payload: { text: Schema.String },
  success: Schema.String,
  failure: Schema.Never
}) {}
class Answer extends Schema.TaggedClass<Answer>()("Answer", { text: Schema.String }) {}

const toSender = (sender: Option.Option<Pid.Pid>, message: Pong | Answer) =>
  Option.match(sender, { onNone: () => Effect.void, onSome: (pid) => Effect.ignore(pid.tell(message)) })

const PingPong = Actor.make("PingPong", {
  protocol: [Ping, Later, Count, WhoAsks, Consult],
  initialState: () => 0,
  receive: {
    Ping: (_, ctx) =>
      Effect.flatMap(
        ctx.modify((n) => [n + 1, n + 1] as const),
        (n) => toSender(ctx.sender, new Pong({ n, text: "pong" }))
      ),
    Later: (msg, ctx) =>
      Effect.zipRight(Effect.sleep(msg.millis), toSender(ctx.sender, new Pong({ n: 0, text: "later" }))),
    Count: (_, ctx) => ctx.get,
    WhoAsks: (_, ctx) =>
      Effect.succeed(Option.match(ctx.sender, { onNone: () => "nobody", onSome: (pid) => pid.name })),
    Consult: (_, ctx) =>
      Option.match(ctx.sender, {
        onNone: () => Effect.void,
        onSome: (sender) =>
          (sender as unknown as Pid.Pid<Question>).ask(new Question({ text: "6 x 7?" })).pipe(
            Effect.flatMap((text) => toSender(ctx.sender, new Answer({ text }))),
            Effect.ignore
          )
      })
  }
})

/** The kit of each test: short real-time waits keep failing cases fast. */
const kit = TestKit.layer({ timeout: "200 millis", noMessageWait: "20 millis" })

const setup = Effect.gen(function*() {
  const actor = yield* TestKit.spawn(PingPong, "ping-pong")
  const probe = yield* TestKit.probe()
  return { actor, probe }
})

const failed = (error: ExpectationFailed) => ({ tag: error._tag, message: error.message })

describe("K1 TestKit: sending as the probe", () => {
  it.effect("tell: the actor sees the probe as its sender, and its answer is recorded", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      yield* probe.expectMessage(new Pong({ n: 1, text: "pong" }))
    }).pipe(Effect.provide(kit)))

  it.effect("ask: returns the reply; the actor sees the probe as its sender", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      expect(yield* probe.ask(actor, new WhoAsks())).toBe(probe.pid.name)
      yield* probe.expectNoMessage()
    }).pipe(Effect.provide(kit)))

  it.effect("send: asks and records the reply", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      yield* probe.tell(actor, new Ping())
      yield* probe.send(actor, new Count())
      yield* probe.expectMessage(new Pong({ n: 1, text: "pong" }))
      yield* probe.expectMessage(new Pong({ n: 2, text: "pong" }))
      yield* probe.expectMessage(2)
    }).pipe(Effect.provide(kit)))

  it.effect("a probe accepts any message, from anyone", () =>
    Effect.gen(function*() {
      const { probe } = yield* setup
      yield* probe.pid.tell(new Answer({ text: "anything" }))
      yield* probe.expectMessage(new Answer({ text: "anything" }))
      expect(yield* probe.lastSender).toEqual(Option.none())
    }).pipe(Effect.provide(kit)))
})

describe("K1 TestKit: expectations", () => {
  it.effect("expectMessage: passes on an equal message", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      yield* probe.expectMessage(new Pong({ n: 1, text: "pong" }))
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessage: fails with a diff of the fields", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      const error = yield* Effect.flip(probe.expectMessage(new Pong({ n: 2, text: "pong" })))
      expect(failed(error)).toEqual({
        tag: "ExpectationFailed",
        message: [
          "expectMessage failed on probe-1",
          "  expected: Pong { n: 2, text: \"pong\" }",
          "  received: Pong { n: 1, text: \"pong\" }",
          "  differences:",
          "    n: expected 2, received 1"
        ].join("\n")
      })
      expect(error.differences).toEqual(["n: expected 2, received 1"])
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessage: fails when nothing comes within the kit's timeout (real time)", () =>
    Effect.gen(function*() {
      const { probe } = yield* setup
      const error = yield* Effect.flip(probe.expectMessage(new Pong({ n: 1, text: "pong" })))
      expect(error.received).toBe("no message within 200ms (real time)")
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessage compares plain values structurally", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.send(actor, new Count())
      yield* probe.expectMessage(0)
      const plain = { _tag: "Plain", list: [1, 2] }
      yield* probe.pid.tell(plain)
      yield* probe.expectMessage({ _tag: "Plain", list: [1, 2] })
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessageWithin: passes when the message comes in time (fork, move the TestClock, join)", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Later({ millis: 1000 }))
      const fiber = yield* Effect.fork(probe.expectMessageWithin("2 seconds", new Pong({ n: 0, text: "later" })))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessageWithin: fails when the message is late", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Later({ millis: 5000 }))
      const late = probe.expectMessageWithin("1 second", new Pong({ n: 0, text: "later" }))
      const fiber = yield* Effect.fork(Effect.flip(late))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error.expectation).toBe("expectMessageWithin")
      expect(error.received).toBe("no message within 1s")
      yield* TestClock.adjust("4 seconds") // let the handler finish before the system closes
    }).pipe(Effect.provide(kit)))

  it.effect("expectNoMessage(): passes when nothing comes", () =>
    Effect.gen(function*() {
      const { probe } = yield* setup
      yield* probe.expectNoMessage()
    }).pipe(Effect.provide(kit)))

  it.effect("expectNoMessage(): fails on a message, and shows it", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      const error = yield* Effect.flip(probe.expectNoMessage())
      expect(error.received).toBe("Pong { n: 1, text: \"pong\" }")
    }).pipe(Effect.provide(kit)))

  it.effect("expectNoMessage(duration): waits on the TestClock", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Later({ millis: 3000 }))
      const quiet = yield* Effect.fork(probe.expectNoMessage("2 seconds"))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(quiet)
      const noisy = yield* Effect.fork(Effect.flip(probe.expectNoMessage("2 seconds")))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(noisy)
      expect(error.expected).toBe("no message within 2s")
      expect(error.received).toBe("Pong { n: 0, text: \"later\" }")
    }).pipe(Effect.provide(kit)))

  it.effect("expectAnyMessage: returns whatever comes", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      expect(yield* probe.expectAnyMessage()).toEqual(new Pong({ n: 1, text: "pong" }))
    }).pipe(Effect.provide(kit)))

  it.effect("expectAnyMessage: fails when nothing comes", () =>
    Effect.gen(function*() {
      const { probe } = yield* setup
      const error = yield* Effect.flip(probe.expectAnyMessage())
      expect(error.expected).toBe("any message")
    }).pipe(Effect.provide(kit)))

  it.effect("expectAnyMessageWithin: passes in time, fails when late", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Later({ millis: 500 }))
      const inTime = yield* Effect.fork(probe.expectAnyMessageWithin("1 second"))
      yield* TestClock.adjust("500 millis")
      expect(yield* Fiber.join(inTime)).toEqual(new Pong({ n: 0, text: "later" }))
      const late = yield* Effect.fork(Effect.flip(probe.expectAnyMessageWithin("1 second")))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(late)).received).toBe("no message within 1s")
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessageOfType: returns the message typed by its schema", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      const pong: Pong = yield* probe.expectMessageOfType(Pong)
      expect(pong.n).toBe(1)
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessageOfType: fails on a message of another type", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Ping())
      const error = yield* Effect.flip(probe.expectMessageOfType(Answer))
      expect(error.message).toBe(
        "expectMessageOfType failed on probe-1\n" +
          "  expected: a value of Answer\n" +
          "  received: Pong { n: 1, text: \"pong\" }"
      )
    }).pipe(Effect.provide(kit)))

  it.effect("expectMessageOfTypeWithin: passes in time, fails when late", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Later({ millis: 100 }))
      const inTime = yield* Effect.fork(probe.expectMessageOfTypeWithin("1 second", Pong))
      yield* TestClock.adjust("100 millis")
      expect((yield* Fiber.join(inTime)).text).toBe("later")
      const late = yield* Effect.fork(Effect.flip(probe.expectMessageOfTypeWithin("1 second", Pong)))
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(late)).expected).toBe("a value of Pong")
    }).pipe(Effect.provide(kit)))

  it.effect("watch + expectTerminated: passes once the actor stops", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.watch(actor)
      yield* actor.stop
      yield* probe.expectTerminated(actor)
      // Terminations are kept apart from messages.
      yield* probe.expectNoMessage()
    }).pipe(Effect.provide(kit)))

  it.effect("expectTerminated: watches by itself, and fails while the actor runs", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      const error = yield* Effect.flip(probe.expectTerminated(actor))
      expect(error.message).toBe(
        "expectTerminated failed on probe-1\n" +
          `  expected: Terminated(${String(actor.address)})\n` +
          "  received: the actor still runs after 200ms (real time)"
      )
      yield* actor.kill
      yield* probe.expectTerminated(actor)
    }).pipe(Effect.provide(kit)))

  it.effect("reply: answers an ask the probe received", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.tell(actor, new Consult())
      const question = yield* probe.expectMessageOfType(Question)
      expect(question.text).toBe("6 x 7?")
      yield* probe.reply("42")
      yield* probe.expectMessage(new Answer({ text: "42" }))
      // The answer was a tell: there is no ask left to answer.
      const error = yield* Effect.flip(probe.reply("again"))
      expect(error.received).toBe("Answer { text: \"42\" }, not an open ask")
    }).pipe(Effect.provide(kit)))

  it.effect("lastSender: the sender of the message taken last", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      expect(yield* probe.lastSender).toEqual(Option.none())
      yield* probe.tell(actor, new Ping())
      yield* probe.expectAnyMessage()
      const sender = yield* probe.lastSender
      expect(Option.map(sender, (pid) => String(pid.address))).toEqual(Option.some(String(actor.address)))
    }).pipe(Effect.provide(kit)))
})

describe("K1 TestKit: building it", () => {
  it.effect("TestKit.make: a kit over a system you build yourself", () =>
    Effect.gen(function*() {
      const testKit = yield* TestKit.make({ timeout: "100 millis" })
      expect(testKit.system.name).toBe("mine")
      const actor = yield* testKit.spawn(PingPong, "ping-pong")
      const probe = yield* testKit.probe()
      yield* probe.tell(actor, new Ping())
      yield* probe.expectMessageOfType(Pong)
    }).pipe(Effect.provide(ActorSystem.layer({ name: "mine", passivateAfter: "never" }))))

  it.effect("probe.stop: a stopped probe receives nothing more", () =>
    Effect.gen(function*() {
      const { actor, probe } = yield* setup
      yield* probe.stop
      expect(yield* probe.pid.isAlive).toBe(false)
      yield* probe.tell(actor, new Ping()) // the Pong goes to deadletters
      const error = yield* Effect.flip(probe.expectAnyMessage())
      expect(error.received).toBe("no message within 200ms (real time)")
    }).pipe(Effect.provide(kit)))
})

// One kit for a whole block: the system, its TestClock and its actors live
// across the tests (use distinct names).
layer(TestKit.layer({ timeout: "200 millis" }))("K1 TestKit as a shared layer", (it) => {
  it.effect("probes get fresh names", () =>
    Effect.gen(function*() {
      const a = yield* TestKit.probe()
      const b = yield* TestKit.probe("named")
      expect([a.pid.name, b.pid.name]).toEqual(["probe-1", "named"])
    }))

  it.effect("the shared system's TestClock drives the actors", () =>
    Effect.gen(function*() {
      const actor = yield* TestKit.spawn(PingPong, "shared")
      const probe = yield* TestKit.probe()
      yield* probe.tell(actor, new Later({ millis: 1000 }))
      const fiber = yield* Effect.fork(probe.expectMessageWithin("2 seconds", new Pong({ n: 0, text: "later" })))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      yield* probe.stop
    }))
})
