import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Equal, Exit, Fiber, Queue, Schema, Scope, Stream } from "effect"
import { Actor, ActorSystem, EventStream, Pid } from "../src/index.js"
import { Counter, drainEvents, eventsUntil, GetCount, Increment, nextEvent, ofTag, PidSchema, settle } from "./helpers.js"

class MakeKid extends Schema.TaggedRequest<MakeKid>()("MakeKid", {
  payload: { name: Schema.String },
  success: Schema.Void,
  failure: Schema.Never
}) {}
class Relay extends Schema.TaggedClass<Relay>()("Relay", { to: PidSchema }) {}

const Parent = Actor.make("Parent", {
  protocol: [MakeKid, Relay],
  receive: {
    MakeKid: (msg, ctx) => Effect.asVoid(ctx.spawnChild(Counter, msg.name)),
    // Tells Increment to `to` from inside this actor: the deadletter (if any) names this actor as sender.
    Relay: (msg) => Effect.ignore((msg.to as unknown as Pid.Pid<Increment>).tell(new Increment({ by: 1 })))
  }
})

describe("C4 event stream", () => {
  it.scoped("ActorStarted, ActorChildCreated and ActorStopped, with addresses", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ev" })
      const events = yield* system.subscribe
      const parent = yield* system.spawn(Parent, "parent")
      yield* parent.ask(new MakeKid({ name: "kid" }))
      yield* system.stop("parent")
      const all = yield* drainEvents(events)
      const shown = all.map((e) => {
        switch (e._tag) {
          case "ActorStarted":
            return `started ${e.address.toString()}`
          case "ActorChildCreated":
            return `child ${e.parent.toString()} -> ${e.child.toString()}`
          case "ActorStopped":
            return `stopped ${e.address.toString()} ${e.reason}`
          default:
            return e._tag
        }
      })
      expect(shown).toEqual([
        "started effect-actors://ev/parent",
        "started effect-actors://ev/parent/kid",
        "child effect-actors://ev/parent -> effect-actors://ev/parent/kid",
        "stopped effect-actors://ev/parent/kid ParentStopped",
        "stopped effect-actors://ev/parent Stopped"
      ])
      const started = ofTag(all, "ActorStarted")[0]!
      expect(started).toBeInstanceOf(EventStream.ActorStarted)
      expect(Equal.equals(started.address, parent.address)).toBe(true)
    }))

  it.scoped("Deadletter carries recipient, sender, message and reason; deadletters are counted", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ev" })
      const target = yield* system.spawn(Counter, "target")
      const relay = yield* system.spawn(Parent, "relay")
      yield* target.stop
      // Counted even while nobody listens.
      yield* Effect.ignore(target.tell(new Increment({ by: 1 })))
      expect(yield* system.deadletters).toBe(1)
      const events = yield* system.subscribe
      yield* relay.tell(new Relay({ to: target }))
      const dead = yield* nextEvent(events, "Deadletter")
      expect(dead).toBeInstanceOf(EventStream.Deadletter)
      expect(dead.recipient.toString()).toBe("effect-actors://ev/target")
      expect(dead.sender?.toString()).toBe("effect-actors://ev/relay")
      expect(dead.message).toEqual(new Increment({ by: 1 }))
      expect(dead.reason).toBe("actor stopped")
      expect(yield* system.deadletters).toBe(2)
      // From outside any actor there is no sender.
      yield* Effect.ignore(target.tell(new Increment({ by: 2 })))
      const outside = yield* nextEvent(events, "Deadletter")
      expect(outside.sender).toBeUndefined()
      expect(yield* system.deadletters).toBe(3)
    }))

  it.scoped("events as a Stream", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ev" })
      const collected = yield* Effect.fork(
        system.events.pipe(
          Stream.filter((e) => e._tag === "ActorStarted"),
          Stream.map((e) => (e as EventStream.ActorStarted).address.name),
          Stream.take(3),
          Stream.runCollect
        )
      )
      yield* settle
      for (const name of ["a", "b", "c"]) yield* system.spawn(Counter, name)
      expect(Chunk.toArray(yield* Fiber.join(collected))).toEqual(["a", "b", "c"])
    }))

  it.scoped("every subscriber gets every event; a closed subscription gets nothing more", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ev" })
      const kept = yield* system.subscribe
      const scope = yield* Scope.make()
      const dropped = yield* Scope.extend(system.subscribe, scope)
      yield* system.spawn(Counter, "one")
      expect(ofTag(yield* drainEvents(dropped), "ActorStarted").length).toBe(1)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Queue.isShutdown(dropped)).toBe(true)
      // Publishing after an unsubscribe is harmless.
      yield* system.spawn(Counter, "two")
      const names = ofTag(yield* drainEvents(kept), "ActorStarted").map((e) => e.address.name)
      expect(names).toEqual(["one", "two"])
    }))

  it.scoped("a failure is visible on the stream: ActorStopped with reason Failed and the error", () =>
    Effect.gen(function*() {
      class Crash extends Schema.TaggedClass<Crash>()("Crash", {}) {}
      const Crashy = Actor.make("Crashy", {
        protocol: [Crash],
        receive: { Crash: () => Effect.die(new TypeError("bad state")) }
      })
      const system = yield* ActorSystem.make({ name: "ev" })
      const events = yield* system.subscribe
      const pid = yield* system.spawn(Crashy, "crashy")
      yield* pid.tell(new Crash())
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped).toMatchObject({ reason: "Failed", error: "TypeError: bad state" })
      expect(stopped.address.toString()).toBe("effect-actors://ev/crashy")
    }))

  it.scoped("a graceful stop, a kill and a PoisonPill each publish one ActorStopped with their reason", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ev" })
      const events = yield* system.subscribe
      const a = yield* system.spawn(Counter, "a")
      const b = yield* system.spawn(Counter, "b")
      const c = yield* system.spawn(Counter, "c")
      yield* a.stop
      yield* b.kill
      yield* Pid.poisonPill(c)
      yield* c.tell(new Increment({ by: 1 })).pipe(Effect.ignore)
      const all = yield* eventsUntil(events, "ActorStopped", (e) => e.address.name === "c")
      expect(ofTag(all, "ActorStopped").map((e) => `${e.address.name} ${e.reason}`)).toEqual([
        "a Stopped",
        "b Killed",
        "c PoisonPill"
      ])
      // Stopping a stopped actor publishes nothing more.
      yield* a.stop
      yield* b.kill
      expect(ofTag(yield* drainEvents(events), "ActorStopped")).toEqual([])
      expect(yield* system.count).toBe(0)
      expect(yield* Effect.flip(a.ask(new GetCount()))).toMatchObject({ _tag: "ActorStopped" })
    }))
})

describe("I8.6 a slow subscriber", () => {
  class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
  const Quiet = Actor.make("Quiet", { protocol: [Ping], receive: { Ping: () => Effect.void } })

  /** Publishes ten ActorStarted events (ten spawns) to a subscriber that reads nothing meanwhile. */
  const tenStarts = (strategy: "sliding" | "dropping") =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "slow", eventBuffer: { capacity: 4, strategy } })
      const events = yield* system.subscribe
      for (let i = 0; i < 10; i++) yield* system.spawn(Quiet, `q${i}`)
      const names = (yield* drainEvents(events)).map((e) => e._tag === "ActorStarted" ? e.address.path.join("/") : e._tag)
      return { system, events, names }
    })

  it.scoped("sliding (the default): keeps the latest events, counts the rest as missed", () =>
    Effect.gen(function*() {
      const { events, names, system } = yield* tenStarts("sliding")
      expect(names).toEqual(["q6", "q7", "q8", "q9"])
      expect(yield* EventStream.missed(events)).toBe(6)
      expect((yield* system.metrics).eventsMissed).toBe(6)
    }))

  it.scoped("dropping: keeps the earliest events, counts the rest as missed", () =>
    Effect.gen(function*() {
      const { events, names } = yield* tenStarts("dropping")
      expect(names).toEqual(["q0", "q1", "q2", "q3"])
      expect(yield* EventStream.missed(events)).toBe(6)
    }))

  it.scoped("what one subscriber misses does not touch another that keeps up, nor the publisher", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "slow", eventBuffer: { capacity: 2 } })
      const slow = yield* system.subscribe
      const fast = yield* system.subscribe
      const seen: Array<string> = []
      for (let i = 0; i < 5; i++) {
        yield* system.spawn(Quiet, `q${i}`)
        for (const event of yield* drainEvents(fast)) seen.push(event._tag)
      }
      expect(seen).toEqual(Array.from({ length: 5 }, () => "ActorStarted"))
      expect(yield* EventStream.missed(fast)).toBe(0)
      expect(yield* EventStream.missed(slow)).toBe(3)
      expect((yield* drainEvents(slow)).length).toBe(2)
      // A taker waiting on an empty buffer gets the next event at once.
      const taking = yield* Effect.fork(Queue.take(slow))
      yield* settle
      yield* system.spawn(Quiet, "late")
      expect((yield* Fiber.join(taking))._tag).toBe("ActorStarted")
    }))
})
