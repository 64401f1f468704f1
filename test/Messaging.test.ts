import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Schema, TestClock } from "effect"
import { Actor, ActorSystem, Errors, Mailbox, type Pid } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"

const system = ActorSystem.make({ name: "messaging", passivateAfter: "never", askTimeout: "1 minute" })

// -------------------------------------------------------------- E3 forward

class Hello extends Schema.TaggedClass<Hello>()("Hello", {}) {}
class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  payload: { text: Schema.String },
  success: Schema.String,
  failure: Schema.Never
}) {}
class Senders extends Schema.TaggedRequest<Senders>()("Senders", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}
/** Tells `Hello` to the front actor, so that the sender is an actor. */
class Go extends Schema.TaggedClass<Go>()("Go", {}) {}

type Relay = Hello | Echo | Senders | Go
const relayProtocol = [Hello, Echo, Senders, Go] as const

/** Records the sender of every Hello and answers Echo itself. */
const Back = Actor.make("Back", {
  protocol: relayProtocol,
  initialState: (): ReadonlyArray<string> => [],
  receive: {
    Hello: (_, ctx) =>
      ctx.update((senders) => [...senders, Option.match(ctx.sender, { onNone: () => "none", onSome: (p) => p.name })]),
    Echo: (msg) => Effect.succeed(`back: ${msg.text}`),
    Senders: (_, ctx) => ctx.get,
    Go: () => Effect.void
  }
})

/** Forwards Hello and Echo to `back`; a forward that fails is logged, the asker learns it from its ask. */
const makeFront = (back: Pid.Pid<Relay>) =>
  Actor.make("Front", {
    protocol: relayProtocol,
    receive: {
      Hello: (_, ctx) => ctx.forward(back),
      // The reply comes from `back`: once forwarded, this handler's own result is ignored.
      Echo: (_, ctx) => Effect.as(Effect.catchAll(ctx.forward(back), (error) => Effect.logDebug(error)), ""),
      Senders: () => Effect.succeed([]),
      Go: () => Effect.void
    }
  })

/** On Go, says Hello to `front`. */
const makeClient = (front: Pid.Pid<Relay>) =>
  Actor.make("Client", {
    protocol: relayProtocol,
    receive: {
      Hello: () => Effect.void,
      Echo: () => Effect.succeed(""),
      Senders: () => Effect.succeed([]),
      Go: () => Effect.orDie(front.tell(new Hello()))
    }
  })

describe("E3 forward", () => {
  it.scoped("keeps the original sender", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const back = yield* sys.spawn(Back, "back")
      const front = yield* sys.spawn(makeFront(back), "front")
      const client = yield* sys.spawn(makeClient(front), "client")
      yield* client.tell(new Go())
      yield* settle
      // Told from outside any actor: no sender.
      yield* front.tell(new Hello())
      expect(yield* Effect.eventually(back.ask(new Senders()).pipe(Effect.filterOrFail((s) => s.length === 2))))
        .toEqual(["client", "none"])
    }))

  it.scoped("the sender of a tell is whoever runs it: one tell Effect run from outside, by actors, from a forked fiber", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const back = yield* sys.spawn(Back, "back")
      const hello = back.tell(new Hello())
      const runner = <E>(name: string, run: Effect.Effect<void, E>) =>
        sys.spawn(
          Actor.make(name, {
            protocol: relayProtocol,
            receive: {
              Hello: () => Effect.void,
              Echo: () => Effect.succeed(""),
              Senders: () => Effect.succeed([]),
              Go: () => Effect.orDie(run)
            }
          }),
          name
        )
      const inline = yield* runner("inline", hello)
      const forked = yield* runner("forked", Effect.flatMap(Effect.fork(hello), Fiber.join))
      const seen = (n: number) => Effect.eventually(back.ask(new Senders()).pipe(Effect.filterOrFail((s) => s.length === n)))
      yield* hello
      yield* seen(1)
      yield* inline.tell(new Go())
      yield* seen(2)
      yield* hello
      yield* seen(3)
      yield* forked.tell(new Go())
      yield* seen(4)
      // The same Effect, run twice in a row from outside: delivered twice.
      yield* hello
      yield* hello
      expect(yield* seen(6)).toEqual(["none", "inline", "none", "forked", "none", "none"])
    }))

  it.scoped("a forwarded ask is answered by the final actor", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const back = yield* sys.spawn(Back, "back")
      const front = yield* sys.spawn(makeFront(back), "front")
      expect(yield* front.ask(new Echo({ text: "hi" }))).toBe("back: hi")
    }))

  it.scoped("an ask forwarded to a stopped actor fails with ActorStopped, not a timeout", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const back = yield* sys.spawn(Back, "back")
      const front = yield* sys.spawn(makeFront(back), "front")
      yield* back.stop
      const error = yield* Effect.flip(front.ask(new Echo({ text: "hi" })))
      expect(error).toBeInstanceOf(Errors.ActorStopped)
      expect(yield* front.isAlive).toBe(true)
    }))
})

// ------------------------------------------------------ E4/E5 batches

class Note extends Schema.TaggedClass<Note>()("Note", { n: Schema.Number }) {}
class NotesSeen extends Schema.TaggedRequest<NotesSeen>()("NotesSeen", {
  payload: {},
  success: Schema.Array(Schema.Number),
  failure: Schema.Never
}) {}
class Odd extends Schema.TaggedError<Odd>()("Odd", { n: Schema.Number }) {}
class Half extends Schema.TaggedRequest<Half>()("Half", {
  payload: { n: Schema.Number },
  success: Schema.Number,
  failure: Odd
}) {}

const Notebook = Actor.make("Notebook", {
  protocol: [Note, NotesSeen, Half],
  initialState: (): ReadonlyArray<number> => [],
  receive: {
    Note: (msg, ctx) => ctx.update((seen) => [...seen, msg.n]),
    NotesSeen: (_, ctx) => ctx.get,
    Half: (msg, ctx) =>
      Effect.zipRight(
        ctx.update((seen) => [...seen, msg.n]),
        msg.n % 2 === 0 ? Effect.succeed(msg.n / 2) : Effect.fail(new Odd({ n: msg.n }))
      )
  }
})

const range = (n: number) => Array.from({ length: n }, (_, i) => i)

describe("E4 batchTell", () => {
  it.scoped("delivers in order", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Notebook, "notes")
      yield* pid.batchTell(range(1000).map((n) => new Note({ n })))
      expect(yield* pid.ask(new NotesSeen())).toEqual(range(1000))
    }))

  it.scoped("stops at the first refusal and says why", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Notebook, "notes", { mailbox: Mailbox.bounded(3) })
      const error = yield* Effect.flip(pid.batchTell(range(5).map((n) => new Note({ n }))))
      expect(error).toBeInstanceOf(Errors.MailboxFull)
      yield* settle
      expect(yield* pid.ask(new NotesSeen())).toEqual([0, 1, 2])
      // Only the refused message became a deadletter; the fifth was never sent.
      expect(yield* sys.deadletters).toBe(1)
      yield* pid.stop
      expect(yield* Effect.flip(pid.batchTell([new Note({ n: 9 })]))).toBeInstanceOf(Errors.ActorStopped)
    }))
})

describe("E5 batchAsk", () => {
  it.scoped("returns the replies in order", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Notebook, "notes")
      const replies = yield* pid.batchAsk(range(50).map((i) => new Half({ n: 2 * i })))
      expect(replies).toEqual(range(50))
      expect(yield* pid.ask(new NotesSeen())).toEqual(range(50).map((i) => 2 * i))
    }))

  it.scoped("fails as a whole with the first failure and its index", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Notebook, "notes")
      const error = yield* Effect.flip(pid.batchAsk([2, 4, 5, 6, 7].map((n) => new Half({ n }))))
      expect(error).toBeInstanceOf(Errors.BatchAskFailed)
      expect(error.index).toBe(2)
      expect(error.error).toEqual(new Odd({ n: 5 }))
    }))

  it.scoped("an actor that stops mid-batch fails the batch with ActorStopped", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Notebook, "notes")
      yield* pid.stop
      const error = yield* Effect.flip(pid.batchAsk([new Half({ n: 2 })]))
      expect(error.index).toBe(0)
      expect(error.error).toBeInstanceOf(Errors.ActorStopped)
    }))
})

// ------------------------------------------------------------- E6 pipeTo

class Start extends Schema.TaggedClass<Start>()("Start", {
  value: Schema.Number,
  outcome: Schema.Literal("succeed", "fail", "die", "hang"),
  reportFailure: Schema.Boolean
}) {}
class Result extends Schema.TaggedClass<Result>()("Result", { text: Schema.String }) {}
class Results extends Schema.TaggedRequest<Results>()("Results", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}

type PipeMessage = Start | Result | Results

/** The background work: a second of (test) time, then the outcome asked for. */
const work = (msg: Start, interrupted: { count: number }): Effect.Effect<number, string> => {
  switch (msg.outcome) {
    case "succeed":
      return Effect.as(Effect.sleep("1 second"), msg.value * 10)
    case "fail":
      return Effect.zipRight(Effect.sleep("1 second"), Effect.fail(`bad ${msg.value}`))
    case "die":
      return Effect.zipRight(Effect.sleep("1 second"), Effect.die(new Error(`died ${msg.value}`)))
    case "hang":
      return Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => interrupted.count++)))
  }
}

/** Pipes `work` to `target` (itself by default) and records the Results it receives. */
const makePiper = (interrupted: { count: number }, target?: Pid.Pid<PipeMessage>) =>
  Actor.make("Piper", {
    protocol: [Start, Result, Results],
    initialState: (): ReadonlyArray<string> => [],
    receive: {
      Start: (msg, ctx) =>
        ctx.pipeTo(work(msg, interrupted), {
          to: target ?? ctx.self,
          onSuccess: (n) => new Result({ text: `got ${n}` }),
          ...(msg.reportFailure ? { onFailure: (e: string) => new Result({ text: `failed: ${e}` }) } : {})
        }),
      Result: (msg, ctx) => ctx.update((results) => [...results, msg.text]),
      Results: (_, ctx) => ctx.get
    }
  })

describe("E6 pipeTo", () => {
  it.scoped("delivers the success to the actor itself, without blocking it meanwhile", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(makePiper({ count: 0 }), "piper")
      yield* pid.tell(new Start({ value: 1, outcome: "succeed", reportFailure: false }))
      expect(yield* pid.ask(new Results())).toEqual([])
      yield* TestClock.adjust("500 millis")
      yield* pid.tell(new Start({ value: 2, outcome: "succeed", reportFailure: false }))
      expect(yield* pid.ask(new Results())).toEqual([])
      yield* TestClock.adjust("500 millis")
      yield* settle
      expect(yield* pid.ask(new Results())).toEqual(["got 10"])
      yield* TestClock.adjust("500 millis")
      yield* settle
      expect(yield* pid.ask(new Results())).toEqual(["got 10", "got 20"])
    }))

  it.scoped("delivers to another actor", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const sink = yield* sys.spawn(makePiper({ count: 0 }), "sink")
      const pid = yield* sys.spawn(makePiper({ count: 0 }, sink), "piper")
      yield* pid.tell(new Start({ value: 3, outcome: "succeed", reportFailure: false }))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sink.ask(new Results())).toEqual(["got 30"])
      expect(yield* pid.ask(new Results())).toEqual([])
    }))

  it.scoped("a failure is delivered as a typed message through onFailure", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(makePiper({ count: 0 }), "piper")
      yield* pid.tell(new Start({ value: 4, outcome: "fail", reportFailure: true }))
      yield* settle
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* pid.ask(new Results())).toEqual(["failed: bad 4"])
    }))

  it.scoped("a failure without onFailure, or a defect, is published as a deadletter", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(makePiper({ count: 0 }), "piper")
      yield* pid.tell(new Start({ value: 5, outcome: "fail", reportFailure: false }))
      yield* pid.tell(new Start({ value: 6, outcome: "die", reportFailure: true }))
      yield* settle
      yield* TestClock.adjust("1 second")
      const first = yield* nextEvent(events, "Deadletter")
      const second = yield* nextEvent(events, "Deadletter")
      expect([first.reason, second.reason].sort()).toEqual(["pipeTo failed: Error: died 6", "pipeTo failed: bad 5"])
      expect(String(first.recipient)).toBe(String(pid.address))
      expect(yield* pid.ask(new Results())).toEqual([])
      expect(yield* pid.isAlive).toBe(true)
    }))

  it.scoped("a result for a target that stopped meanwhile is a deadletter", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const sink = yield* sys.spawn(makePiper({ count: 0 }), "sink")
      const pid = yield* sys.spawn(makePiper({ count: 0 }, sink), "piper")
      yield* pid.tell(new Start({ value: 7, outcome: "succeed", reportFailure: false }))
      yield* settle
      yield* sink.stop
      yield* TestClock.adjust("1 second")
      const dead = yield* nextEvent(events, "Deadletter")
      expect(dead.message).toEqual(new Result({ text: "got 70" }))
    }))

  it.scoped("is interrupted when the piping actor stops; nothing is delivered", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const interrupted = { count: 0 }
      const sink = yield* sys.spawn(makePiper({ count: 0 }), "sink")
      const pid = yield* sys.spawn(makePiper(interrupted, sink), "piper")
      yield* pid.tell(new Start({ value: 8, outcome: "hang", reportFailure: true }))
      yield* pid.tell(new Start({ value: 9, outcome: "hang", reportFailure: false }))
      yield* settle
      expect(interrupted.count).toBe(0)
      yield* pid.stop
      expect(interrupted.count).toBe(2)
      yield* TestClock.adjust("1 hour")
      yield* settle
      expect(yield* sink.ask(new Results())).toEqual([])
      expect(ofTag(yield* drainEvents(events), "Deadletter")).toEqual([])
    }))

  it.scoped("a restart does not interrupt a pipe: its result reaches the new incarnation", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const interrupted = { count: 0 }
      const pid = yield* sys.spawn(makePiper(interrupted), "piper")
      yield* pid.tell(new Start({ value: 5, outcome: "succeed", reportFailure: false }))
      yield* settle
      yield* pid.restart
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* pid.ask(new Results())).toEqual(["got 50"])
      expect(interrupted.count).toBe(0)
    }))

  it.scoped("the piping fiber does not outlive a killed actor either", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const interrupted = { count: 0 }
      const pid = yield* sys.spawn(makePiper(interrupted), "piper")
      yield* pid.tell(new Start({ value: 1, outcome: "hang", reportFailure: false }))
      yield* settle
      const killer = yield* Effect.fork(pid.kill)
      yield* Fiber.join(killer)
      expect(interrupted.count).toBe(1)
    }))
})
