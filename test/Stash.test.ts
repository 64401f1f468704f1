import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Schedule, Schema } from "effect"
import { Actor, ActorSystem, Errors, type EventStream, Supervisor } from "../src/index.js"
import { drainEvents, nextEvent, ofTag, settle } from "./helpers.js"

class Item extends Schema.TaggedClass<Item>()("Item", { text: Schema.String }) {}
/** Answers the items recorded so far; stashed like an item while the gate is closed. */
class Fetch extends Schema.TaggedRequest<Fetch>()("Fetch", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}
/** Lets `n` more messages through, and unstashes that many. */
class Grant extends Schema.TaggedClass<Grant>()("Grant", { n: Schema.Number }) {}
/** Lets everything through and unstashes everything. */
class Open extends Schema.TaggedClass<Open>()("Open", {}) {}
class Items extends Schema.TaggedRequest<Items>()("Items", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}
class Boom extends Schema.TaggedClass<Boom>()("Boom", {}) {}

interface GateState {
  readonly credits: number
  readonly items: ReadonlyArray<string>
}

/** Stashes `Item` and `Fetch` until it has credits for them. */
const Gate = Actor.make("Gate", {
  protocol: [Item, Fetch, Grant, Open, Items, Boom],
  initialState: (): GateState => ({ credits: 0, items: [] }),
  receive: {
    Item: (msg, ctx) =>
      ctx.state.credits > 0
        ? ctx.update((s) => ({ credits: s.credits - 1, items: [...s.items, msg.text] }))
        : ctx.stash,
    Fetch: (_, ctx) =>
      ctx.state.credits > 0
        ? Effect.as(ctx.update((s) => ({ ...s, credits: s.credits - 1 })), ctx.state.items)
        : Effect.as(ctx.stash, []),
    Grant: (msg, ctx) =>
      Effect.zipRight(
        ctx.update((s) => ({ ...s, credits: s.credits + msg.n })),
        Effect.repeatN(ctx.unstash, msg.n - 1)
      ),
    Open: (_, ctx) => Effect.zipRight(ctx.update((s) => ({ ...s, credits: Infinity })), ctx.unstashAll),
    Items: (_, ctx) => Effect.succeed(ctx.state.items),
    Boom: () => Effect.die("boom")
  }
})

const system = (options: Partial<ActorSystem.Options> = {}) =>
  ActorSystem.make({ name: "stash", passivateAfter: "never", ...options })

/** Every event up to and including the first of `tag`. */
const takeUntil = (
  queue: Queue.Dequeue<EventStream.Event>,
  tag: EventStream.Event["_tag"]
): Effect.Effect<Array<EventStream.Event>> =>
  Effect.flatMap(Queue.take(queue), (event) =>
    event._tag === tag ? Effect.succeed([event]) : Effect.map(takeUntil(queue, tag), (rest) => [event, ...rest]))

const items = (...texts: Array<string>) => texts.map((text) => new Item({ text }))

describe("A10 stash", () => {
  it.scoped("unstashAll puts stashed messages back in arrival order, ahead of newer ones", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const gate = yield* sys.spawn(Gate, "gate")
      // All queued before the gate runs: a, b, c are stashed, d arrives after Open.
      yield* gate.batchTell([...items("a", "b", "c"), new Open(), ...items("d")])
      expect(yield* gate.ask(new Items())).toEqual(["a", "b", "c", "d"])
      expect((yield* gate.metrics).stashSize).toBe(0)
    }))

  it.scoped("unstash puts back only the oldest", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const gate = yield* sys.spawn(Gate, "gate")
      yield* gate.batchTell([...items("a", "b", "c"), new Grant({ n: 1 }), ...items("d")])
      expect(yield* gate.ask(new Items())).toEqual(["a"])
      expect((yield* gate.metrics).stashSize).toBe(3)
      yield* gate.tell(new Grant({ n: 2 }))
      expect(yield* gate.ask(new Items())).toEqual(["a", "b", "c"])
      yield* gate.tell(new Open())
      expect(yield* gate.ask(new Items())).toEqual(["a", "b", "c", "d"])
    }))

  it.scoped("a stashed ask is answered once it is unstashed and processed", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const gate = yield* sys.spawn(Gate, "gate")
      yield* gate.tell(new Item({ text: "a" }))
      const fetch = yield* Effect.fork(gate.ask(new Fetch()))
      yield* settle
      expect(fetch.unsafePoll()).toBeNull()
      yield* gate.tell(new Open())
      expect(yield* Fiber.join(fetch)).toEqual(["a"])
    }))

  it.scoped("stashing beyond the spawn's capacity is StashFull, handed to the supervisor (Stop by default)", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const gate = yield* sys.spawn(Gate, "gate", { stashCapacity: 2 })
      yield* gate.batchTell(items("a", "b", "c"))
      const seen = yield* takeUntil(events, "ActorStopped")
      const stopped = ofTag(seen, "ActorStopped")[0]
      expect(stopped?.reason).toBe("Failed")
      expect(stopped?.error).toBe("StashFull: stash of actor effect-actors://stash/gate is full (capacity 2)")
      // What was stashed is not lost silently.
      const dead = ofTag(seen, "Deadletter").map((e) => (e.message as Item).text)
      expect(dead).toEqual(["a", "b"])
    }))

  it.scoped("with Resume the message that did not fit is dropped (its asker gets AskFailed) and the stash is kept", () =>
    Effect.gen(function*() {
      const sys = yield* system({ stashCapacity: 2 })
      const gate = yield* sys.spawn(Gate, "gate", {
        supervisor: Supervisor.make({ decide: Supervisor.byTag({ StashFull: "Resume" }) })
      })
      yield* gate.batchTell(items("a", "b"))
      const error = yield* Effect.flip(gate.ask(new Fetch()))
      expect(error).toBeInstanceOf(Errors.AskFailed)
      expect((error as Errors.AskFailed).reason).toBe("StashFull: stash of actor effect-actors://stash/gate is full (capacity 2)")
      yield* gate.tell(new Open())
      expect(yield* gate.ask(new Items())).toEqual(["a", "b"])
    }))

  it.scoped("the system's stashCapacity is the default, a spawn's overrides it", () =>
    Effect.gen(function*() {
      const sys = yield* system({ stashCapacity: 1, supervisor: Supervisor.resume })
      const small = yield* sys.spawn(Gate, "small")
      const large = yield* sys.spawn(Gate, "large", { stashCapacity: 3 })
      for (const gate of [small, large]) {
        yield* gate.batchTell([...items("a", "b", "c"), new Open()])
      }
      expect(yield* small.ask(new Items())).toEqual(["a"])
      expect(yield* large.ask(new Items())).toEqual(["a", "b", "c"])
    }))

  it.scoped("stashed messages survive a restart (by pid.restart or by the supervisor)", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const gate = yield* sys.spawn(Gate, "gate", { supervisor: Supervisor.restart({ restarts: Schedule.recurs(3) }) })
      yield* gate.batchTell(items("a", "b"))
      yield* gate.restart
      yield* gate.tell(new Item({ text: "c" }))
      yield* gate.tell(new Boom())
      yield* nextEvent(events, "ActorRestarted", (e) => e.restarts === 2)
      expect((yield* gate.metrics).stashSize).toBe(3)
      yield* gate.tell(new Open())
      expect(yield* gate.ask(new Items())).toEqual(["a", "b", "c"])
    }))

  it.scoped("on a graceful stop the mailbox is drained and stashed messages become deadletters", () =>
    Effect.gen(function*() {
      const sys = yield* system()
      const events = yield* sys.subscribe
      const gate = yield* sys.spawn(Gate, "gate")
      yield* gate.tell(new Item({ text: "a" }))
      const fetch = yield* Effect.fork(gate.ask(new Fetch()))
      yield* settle
      yield* gate.tell(new Item({ text: "b" }))
      yield* gate.stop
      const error = yield* Fiber.join(fetch).pipe(Effect.flip)
      expect(error).toBeInstanceOf(Errors.ActorStopped)
      const dead = ofTag(yield* drainEvents(events), "Deadletter")
      expect(dead.map((e) => (e.message as { _tag: string })._tag)).toEqual(["Item", "Fetch", "Item"])
      expect(dead.every((e) => e.reason === "actor stopped before processing it")).toBe(true)
    }))
})
