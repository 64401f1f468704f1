import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Option, Schema } from "effect"
import { Actor, ActorSystem, Errors, Pid } from "../src/index.js"
import {
  Counter,
  Divide,
  DivisionByZero,
  eventsUntil,
  GetCount,
  Increment,
  Journal,
  makeJournal,
  nextEvent,
  Note,
  Notes,
  ofTag,
  PidSchema,
  Recorder,
  settle,
  write
} from "./helpers.js"

// ---------------------------------------------------------------- protocols

class SpawnKid extends Schema.TaggedRequest<SpawnKid>()("SpawnKid", {
  payload: { name: Schema.String },
  success: Schema.String,
  failure: Schema.declare((u: unknown): u is Errors.SpawnError =>
    u instanceof Errors.InvalidName || u instanceof Errors.NameTaken || u instanceof Errors.SpawnFailed ||
    u instanceof Errors.ActorStopped
  )
}) {}
class StopKid extends Schema.TaggedRequest<StopKid>()("StopKid", {
  payload: { name: Schema.String },
  success: Schema.Boolean,
  failure: Schema.Never
}) {}
class Kids extends Schema.TaggedRequest<Kids>()("Kids", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}
class Watch extends Schema.TaggedClass<Watch>()("Watch", { target: PidSchema }) {}
class Unwatch extends Schema.TaggedClass<Unwatch>()("Unwatch", { target: PidSchema }) {}
class Sync extends Schema.TaggedRequest<Sync>()("Sync", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}

/** Spawns Recorder children on request; reports Terminated to the journal. */
const Parent = Actor.make("Parent", {
  protocol: [SpawnKid, StopKid, Kids, Watch, Unwatch, Sync],
  receive: {
    SpawnKid: (msg, ctx) => Effect.map(ctx.spawnChild(Recorder, msg.name), (pid) => pid.address.toString()),
    StopKid: (msg, ctx) =>
      Effect.flatMap(ctx.children, (kids) => {
        const kid = kids.find((pid) => pid.name === msg.name)
        return kid === undefined ? Effect.succeed(false) : Effect.as(ctx.stop(kid), true)
      }),
    Kids: (_, ctx) => Effect.map(ctx.children, (kids) => kids.map((pid) => pid.name).sort()),
    Watch: (msg, ctx) => ctx.watch(msg.target),
    Unwatch: (msg, ctx) => ctx.unwatch(msg.target),
    Sync: () => Effect.void,
    Terminated: (msg, ctx) => write(`${ctx.self.name} saw ${msg.address} ${msg.reason}`)
  },
  preStart: (ctx) => write(`preStart ${ctx.self.name}`),
  postStop: (ctx) => write(`postStop ${ctx.self.name}`)
})

class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", {}) {}
class Start extends Schema.TaggedClass<Start>()("Start", { target: PidSchema }) {}
class WhoSentPong extends Schema.TaggedRequest<WhoSentPong>()("WhoSentPong", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}
class WhoAmI extends Schema.TaggedRequest<WhoAmI>()("WhoAmI", {
  payload: {},
  success: Schema.String,
  failure: Schema.Never
}) {}
class SenderOfAsk extends Schema.TaggedRequest<SenderOfAsk>()("SenderOfAsk", {
  payload: {},
  success: Schema.Boolean,
  failure: Schema.Never
}) {}

/** Replies to the sender of a Ping with a Pong. */
const Ponger = Actor.make("Ponger", {
  protocol: [Ping, SenderOfAsk],
  receive: {
    Ping: (_, ctx) =>
      Option.match(ctx.sender, {
        onNone: () => Effect.dieMessage("Ping without a sender"),
        onSome: (sender) => Effect.orDie(sender.tell(new Pong()))
      }),
    SenderOfAsk: (_, ctx) => Effect.succeed(Option.isSome(ctx.sender))
  }
})

/** Sends Ping to a target on Start; records who sent each Pong. */
const Pinger = Actor.make("Pinger", {
  protocol: [Start, Pong, WhoSentPong, WhoAmI],
  initialState: (): ReadonlyArray<string> => [],
  receive: {
    Start: (msg) => Effect.orDie((msg.target as unknown as Pid.Pid<Ping>).tell(new Ping())),
    Pong: (_, ctx) =>
      ctx.update((seen) => [...seen, Option.match(ctx.sender, { onNone: () => "none", onSome: (p) => String(p.address) })]),
    WhoSentPong: (_, ctx) => ctx.get,
    WhoAmI: (_, ctx) => Effect.succeed(`${ctx.self.address.toString()} ${ctx.address.toString()}`)
  }
})

class Early extends Schema.TaggedRequest<Early>()("Early", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}
class Maybe extends Schema.TaggedRequest<Maybe>()("Maybe", {
  payload: { mine: Schema.Boolean },
  success: Schema.String,
  failure: Schema.Never
}) {}
class MaybeTell extends Schema.TaggedClass<MaybeTell>()("MaybeTell", { mine: Schema.Boolean }) {}

const Responder = Actor.make("Responder", {
  protocol: [Early, Maybe, MaybeTell],
  receive: {
    // The reply is sent before the handler returns; the handler's own result is ignored.
    Early: (_, ctx) => Effect.as(ctx.respond(1), 2),
    Maybe: (msg, ctx) => msg.mine ? Effect.succeed("mine") : Effect.as(ctx.unhandled(), "ignored"),
    MaybeTell: (msg, ctx) => msg.mine ? Effect.void : ctx.unhandled()
  }
})

class Fail extends Schema.TaggedClass<Fail>()("Fail", {
  how: Schema.Literal("throw", "sync-throw", "die", "fail")
}) {}
class FailAsk extends Schema.TaggedRequest<FailAsk>()("FailAsk", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

const Fragile = Actor.make("Fragile", {
  protocol: [Fail, FailAsk, Increment, GetCount],
  initialState: () => 0,
  receive: {
    Fail: (msg) => {
      switch (msg.how) {
        case "throw":
          throw new Error("thrown in the handler")
        case "sync-throw":
          return Effect.sync(() => {
            throw new Error("thrown in an Effect")
          })
        case "die":
          return Effect.die(new Error("died"))
        case "fail":
          return Effect.fail(new Error("failed"))
      }
    },
    FailAsk: () => Effect.die(new Error("ask handler died")),
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get
  },
  postStop: () => write("postStop fragile")
})

// -------------------------------------------------------------------- tests

describe("A1 definition", () => {
  it.scoped("tells change state, asks get the reply typed by the request's schema", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a1" })
      const counter = yield* system.spawn(Counter, "counter")
      yield* counter.tell(new Increment({ by: 2 }))
      yield* counter.tell(new Increment({ by: 3 }))
      const count: number = yield* counter.ask(new GetCount())
      expect(count).toBe(5)
      expect(yield* counter.ask(new Divide({ dividend: 10, divisor: 4 }))).toBe(2.5)
    }))

  it.scoped("a request's typed failure goes back to the asker and the actor lives on", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a1" })
      const counter = yield* system.spawn(Counter, "counter")
      const error = yield* Effect.flip(counter.ask(new Divide({ dividend: 7, divisor: 0 })))
      expect(error).toBeInstanceOf(DivisionByZero)
      expect(error._tag).toBe("DivisionByZero")
      expect((error as DivisionByZero).dividend).toBe(7)
      expect(yield* counter.isAlive).toBe(true)
      yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* counter.ask(new GetCount())).toBe(1)
    }))

  it.scoped("the handlers' services are provided at spawn", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a1" })
      const journal = makeJournal()
      const recorder = yield* system.spawn(Recorder, "rec").pipe(Effect.provideService(Journal, journal))
      yield* recorder.tell(new Note({ text: "hello" }))
      expect(yield* recorder.ask(new Notes())).toEqual(["hello"])
      expect(journal.entries).toEqual(["preStart rec", "rec: hello"])
    }))

  it("system tags are reserved: a protocol with PoisonPill or Terminated is refused", () => {
    class PoisonPill extends Schema.TaggedClass<PoisonPill>()("PoisonPill", {}) {}
    expect(() => Actor.make("Bad", { protocol: [PoisonPill], receive: { PoisonPill: () => Effect.void } }))
      .toThrow(/reserved/)
  })

  it.scoped("a typed PID refuses a message outside its protocol at compile time", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a1" })
      const counter = yield* system.spawn(Counter, "counter")
      // @ts-expect-error Note is not in Counter's protocol
      const exit = yield* Effect.exit(counter.tell(new Note({ text: "x" })))
      // At run time the cell refuses it too.
      expect(exit._tag).toBe("Failure")
    }))
})

describe("A3 lifecycle", () => {
  it.scoped("preStart runs before the first message", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      const journal = makeJournal()
      const rec = yield* system.spawn(Recorder, "r").pipe(Effect.provideService(Journal, journal))
      yield* rec.tell(new Note({ text: "first" }))
      yield* rec.ask(new Notes())
      expect(journal.entries).toEqual(["preStart r", "r: first"])
    }))

  it.scoped("preStart failing: spawn fails with SpawnFailed and nothing is registered", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      yield* system.spawn(Counter, "other")
      const events = yield* system.subscribe
      const Broken = Actor.make("Broken", {
        protocol: [Increment],
        receive: { Increment: () => Effect.void },
        preStart: () => Effect.fail("no database")
      })
      const error = yield* Effect.flip(system.spawn(Broken, "broken"))
      expect(error._tag).toBe("SpawnFailed")
      expect(error).toMatchObject({ actorName: "broken", reason: "preStart failed" })
      expect(String((error as Errors.SpawnFailed).cause)).toContain("no database")
      expect(yield* system.lookup("broken")).toEqual(Option.none())
      expect(yield* system.count).toBe(1)
      expect((yield* system.actors).map((p) => p.name)).toEqual(["other"])
      // Not half-registered: no ActorStarted, and the name is free again.
      const seen = [...(yield* events.takeAll)]
      expect(ofTag(seen, "ActorStarted")).toEqual([])
      const again = yield* system.spawn(Counter, "broken")
      expect(yield* again.isAlive).toBe(true)
      expect(yield* system.count).toBe(2)
    }))

  it.scoped("preStart dying is a SpawnFailed too", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      const Broken = Actor.make("Broken", {
        protocol: [Increment],
        receive: { Increment: () => Effect.void },
        preStart: () => Effect.die(new Error("boom"))
      })
      const error = yield* Effect.flip(system.spawn(Broken, "broken"))
      expect(error._tag).toBe("SpawnFailed")
      expect(yield* system.count).toBe(0)
    }))

  it.scoped("initialState throwing: spawn fails with SpawnFailed and nothing is registered", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      const Broken = Actor.make("Broken", {
        protocol: [Increment],
        initialState: (): number => {
          throw new Error("no state")
        },
        receive: { Increment: () => Effect.void }
      })
      const error = yield* Effect.flip(system.spawn(Broken, "broken"))
      expect(error).toMatchObject({ _tag: "SpawnFailed", actorName: "broken", reason: "initialState threw" })
      expect(yield* system.count).toBe(0)
      expect(yield* system.lookup("broken")).toEqual(Option.none())
    }))

  it.scoped("postStop failing: the stop still completes and is published", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      const events = yield* system.subscribe
      let runs = 0
      const Sloppy = Actor.make("Sloppy", {
        protocol: [Increment],
        receive: { Increment: () => Effect.void },
        postStop: () => Effect.suspend(() => (runs++, Effect.fail("cannot close")))
      })
      const pid = yield* system.spawn(Sloppy, "sloppy")
      yield* pid.stop
      expect(yield* pid.isAlive).toBe(false)
      expect(runs).toBe(1)
      expect(yield* system.count).toBe(0)
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.address.toString()).toBe("effect-actors://a3/sloppy")
      expect(stopped.reason).toBe("Stopped")
    }))

  it.scoped("postStop dying: the stop still completes", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      const Sloppy = Actor.make("Sloppy", {
        protocol: [Increment],
        receive: { Increment: () => Effect.void },
        postStop: () => Effect.die(new Error("crash in postStop"))
      })
      const pid = yield* system.spawn(Sloppy, "sloppy")
      yield* pid.stop
      expect(yield* pid.isAlive).toBe(false)
      expect(yield* system.count).toBe(0)
    }))

  it.scoped("postStop runs exactly once, however often the actor is stopped", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a3" })
      const journal = makeJournal()
      const rec = yield* system.spawn(Recorder, "r").pipe(Effect.provideService(Journal, journal))
      yield* Effect.all([rec.stop, rec.stop, rec.kill], { concurrency: "unbounded" })
      yield* rec.stop
      yield* rec.kill
      expect(journal.entries.filter((e) => e.startsWith("postStop"))).toEqual(["postStop r"])
    }))
})

describe("E8 receive context", () => {
  it.scoped("self and address are this actor", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const pinger = yield* system.spawn(Pinger, "pinger")
      expect(yield* pinger.ask(new WhoAmI())).toBe("effect-actors://ctx/pinger effect-actors://ctx/pinger")
    }))

  it.scoped("sender is the PID of the actor that sent the message, and a reply to it arrives", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const ponger = yield* system.spawn(Ponger, "ponger")
      const pinger = yield* system.spawn(Pinger, "pinger")
      yield* pinger.tell(new Start({ target: ponger }))
      yield* settle
      // Pong's sender is the ponger: a tell from inside a handler carries the sender.
      expect(yield* pinger.ask(new WhoSentPong())).toEqual(["effect-actors://ctx/ponger"])
    }))

  it.scoped("sender is none for a message sent from outside any actor", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const ponger = yield* system.spawn(Ponger, "ponger")
      expect(yield* ponger.ask(new SenderOfAsk())).toBe(false)
      // A Ping without a sender kills the Ponger (its handler dies): the sender really is none.
      const events = yield* system.subscribe
      yield* ponger.tell(new Ping())
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("Failed")
      expect(stopped.error).toContain("Ping without a sender")
    }))

  it.scoped("respond replies at once; the handler's own result is ignored", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const responder = yield* system.spawn(Responder, "r")
      expect(yield* responder.ask(new Early())).toBe(1)
    }))

  it.scoped("unhandled sends the message to deadletters; an unhandled ask fails with AskFailed", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const events = yield* system.subscribe
      const responder = yield* system.spawn(Responder, "r")
      expect(yield* responder.ask(new Maybe({ mine: true }))).toBe("mine")
      const before = yield* system.deadletters
      const error = yield* Effect.flip(responder.ask(new Maybe({ mine: false })))
      expect(error).toMatchObject({ _tag: "AskFailed", address: "effect-actors://ctx/r", messageTag: "Maybe" })
      const dead = yield* nextEvent(events, "Deadletter")
      expect(dead.reason).toBe("unhandled")
      expect(dead.message).toEqual(new Maybe({ mine: false }))
      expect(dead.recipient.toString()).toBe("effect-actors://ctx/r")
      yield* responder.tell(new MaybeTell({ mine: false }))
      const dead2 = yield* nextEvent(events, "Deadletter")
      expect(dead2.message).toEqual(new MaybeTell({ mine: false }))
      expect(yield* system.deadletters).toBe(before + 2)
      // unhandled does not fail the actor.
      expect(yield* responder.isAlive).toBe(true)
    }))

  it.scoped("spawnChild, children, stop(child)", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const journal = makeJournal()
      const parent = yield* system.spawn(Parent, "p").pipe(Effect.provideService(Journal, journal))
      expect(yield* parent.ask(new SpawnKid({ name: "a" }))).toBe("effect-actors://ctx/p/a")
      expect(yield* parent.ask(new SpawnKid({ name: "b" }))).toBe("effect-actors://ctx/p/b")
      expect(yield* parent.ask(new Kids())).toEqual(["a", "b"])
      expect(yield* system.count).toBe(3)
      const a = yield* system.lookup("p/a")
      expect(Option.map(a, (pid) => pid.address.toString())).toEqual(Option.some("effect-actors://ctx/p/a"))
      // stop(child) waits for the child: its postStop has run when the reply comes.
      expect(yield* parent.ask(new StopKid({ name: "a" }))).toBe(true)
      expect(journal.entries).toContain("postStop a")
      expect(yield* parent.ask(new Kids())).toEqual(["b"])
      expect(yield* system.lookup("p/a")).toEqual(Option.none())
      expect(yield* system.count).toBe(2)
    }))

  it.scoped("child names are unique among siblings (NameTaken), not across parents", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const journal = makeJournal()
      const p1 = yield* system.spawn(Parent, "p1").pipe(Effect.provideService(Journal, journal))
      const p2 = yield* system.spawn(Parent, "p2").pipe(Effect.provideService(Journal, journal))
      yield* p1.ask(new SpawnKid({ name: "kid" }))
      const error = yield* Effect.flip(p1.ask(new SpawnKid({ name: "kid" })))
      expect(error).toMatchObject({ _tag: "NameTaken", actorName: "kid", address: "effect-actors://ctx/p1/kid" })
      // The same name under another parent, or at the top level, is fine.
      expect(yield* p2.ask(new SpawnKid({ name: "kid" }))).toBe("effect-actors://ctx/p2/kid")
      yield* system.spawn(Counter, "kid")
      const invalid = yield* Effect.flip(p1.ask(new SpawnKid({ name: "a/b" })))
      expect(invalid).toMatchObject({ _tag: "InvalidName", value: "a/b" })
      // A stopped child frees its name.
      yield* p1.ask(new StopKid({ name: "kid" }))
      expect(yield* p1.ask(new SpawnKid({ name: "kid" }))).toBe("effect-actors://ctx/p1/kid")
    }))

  it.scoped("watch delivers Terminated to the Terminated handler; unwatch cancels it", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "ctx" })
      const journal = makeJournal()
      const watcher = yield* system.spawn(Parent, "watcher").pipe(Effect.provideService(Journal, journal))
      const a = yield* system.spawn(Counter, "a")
      const b = yield* system.spawn(Counter, "b")
      yield* watcher.tell(new Watch({ target: a }))
      yield* watcher.tell(new Watch({ target: b }))
      yield* watcher.tell(new Unwatch({ target: b }))
      yield* watcher.ask(new Sync())
      yield* b.stop
      yield* a.kill
      yield* settle
      yield* watcher.ask(new Sync())
      expect(journal.entries.filter((e) => e.includes(" saw "))).toEqual([
        "watcher saw effect-actors://ctx/a Killed"
      ])
    }))
})

describe("A4 children", () => {
  it.scoped("stopping a parent stops its children first, depth-first", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a4" })
      const journal = makeJournal()
      const root = yield* system.spawn(Parent, "root").pipe(Effect.provideService(Journal, journal))
      yield* root.ask(new SpawnKid({ name: "leaf" }))
      const Mid = Actor.make("Mid", {
        protocol: [SpawnKid, Sync],
        receive: {
          SpawnKid: (msg, ctx) => Effect.map(ctx.spawnChild(Recorder, msg.name), (pid) => pid.address.toString()),
          Sync: () => Effect.void
        },
        postStop: (ctx) => write(`postStop ${ctx.self.name}`)
      })
      const MidSpawner = Actor.make("MidSpawner", {
        protocol: [Sync],
        receive: {
          Sync: (_, ctx) => Effect.asVoid(ctx.spawnChild(Mid, "mid"))
        },
        postStop: (ctx) => write(`postStop ${ctx.self.name}`)
      })
      const top = yield* system.spawn(MidSpawner, "top").pipe(Effect.provideService(Journal, journal))
      yield* top.ask(new Sync())
      const mid = yield* system.lookup("top/mid")
      expect(Option.isSome(mid)).toBe(true)
      // A PID from lookup is untyped (Pid<Tagged>), which accepts no request at compile time: cast it.
      const midPid = Option.getOrThrow(mid) as unknown as Pid.Pid<SpawnKid | Sync>
      yield* midPid.ask(new SpawnKid({ name: "g" }))
      expect(yield* system.count).toBe(5)
      journal.entries.length = 0
      yield* top.stop
      expect(journal.entries).toEqual(["postStop g", "postStop mid", "postStop top"])
      expect(yield* system.count).toBe(2)
      expect(yield* system.lookup("top/mid/g")).toEqual(Option.none())
      const stoppedMid = yield* midPid.isAlive
      expect(stoppedMid).toBe(false)
    }))

  it.scoped("children stopped with their parent get reason ParentStopped", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a4" })
      const events = yield* system.subscribe
      const journal = makeJournal()
      const root = yield* system.spawn(Parent, "root").pipe(Effect.provideService(Journal, journal))
      yield* root.ask(new SpawnKid({ name: "kid" }))
      yield* root.stop
      const kid = yield* nextEvent(events, "ActorStopped")
      expect(kid.address.toString()).toBe("effect-actors://a4/root/kid")
      expect(kid.reason).toBe("ParentStopped")
      const parent = yield* nextEvent(events, "ActorStopped")
      expect(parent.address.toString()).toBe("effect-actors://a4/root")
      expect(parent.reason).toBe("Stopped")
    }))

  it.scoped("a stopped parent cannot spawn children", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "a4" })
      let saved: Actor.ReceiveContext<Sync, void, never> | undefined
      const Leaky = Actor.make("Leaky", {
        protocol: [Sync],
        receive: {
          Sync: (_, ctx) =>
            Effect.sync(() => {
              saved = ctx
            })
        }
      })
      const pid = yield* system.spawn(Leaky, "leaky")
      yield* pid.ask(new Sync())
      yield* pid.stop
      expect(saved).toBeDefined()
      const error = yield* Effect.flip(saved!.spawnChild(Counter, "late"))
      expect(error._tag).toBe("ActorStopped")
      expect(yield* system.count).toBe(0)
    }))
})

describe("handler failures (default supervisor: Stop)", () => {
  const cases = ["throw", "sync-throw", "die", "fail"] as const
  for (const how of cases) {
    it.scoped(`a handler that ${how}s stops the actor; ActorStopped(Failed) carries the error`, () =>
      Effect.gen(function*() {
        const system = yield* ActorSystem.make({ name: "fail" })
        const events = yield* system.subscribe
        const journal = makeJournal()
        const pid = yield* system.spawn(Fragile, "f").pipe(Effect.provideService(Journal, journal))
        yield* pid.tell(new Increment({ by: 1 }))
        yield* pid.tell(new Fail({ how }))
        const stopped = yield* nextEvent(events, "ActorStopped")
        expect(stopped.address.toString()).toBe("effect-actors://fail/f")
        expect(stopped.reason).toBe("Failed")
        expect(stopped.error).toMatch(/thrown|died|failed/)
        expect(journal.entries).toEqual(["postStop fragile"])
        expect(yield* pid.isAlive).toBe(false)
        expect(yield* system.lookup("f")).toEqual(Option.none())
        expect(yield* system.count).toBe(0)
        const error = yield* Effect.flip(pid.tell(new Increment({ by: 1 })))
        expect(error).toMatchObject({ _tag: "ActorStopped", address: "effect-actors://fail/f", messageTag: "Increment" })
      }))
  }

  it.scoped("an ask whose handler dies fails with AskFailed, and the actor stops", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "fail" })
      const pid = yield* system.spawn(Fragile, "f").pipe(Effect.provideService(Journal, makeJournal()))
      const error = yield* Effect.flip(pid.ask(new FailAsk()))
      expect(error).toMatchObject({ _tag: "AskFailed", address: "effect-actors://fail/f", messageTag: "FailAsk" })
      expect((error as Errors.AskFailed).reason).toContain("ask handler died")
      yield* settle
      expect(yield* pid.isAlive).toBe(false)
    }))

  it.scoped("messages queued behind the failing one become deadletters; asks among them fail with ActorStopped", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "fail" })
      const events = yield* system.subscribe
      const pid = yield* system.spawn(Fragile, "f").pipe(Effect.provideService(Journal, makeJournal()))
      // All three are queued before the actor runs: tell is a synchronous offer.
      yield* pid.tell(new Fail({ how: "die" }))
      yield* pid.tell(new Increment({ by: 5 }))
      const error = yield* Effect.flip(pid.ask(new GetCount()))
      expect(error).toMatchObject({ _tag: "ActorStopped", address: "effect-actors://fail/f", messageTag: "GetCount" })
      const dead = yield* nextEvent(events, "Deadletter")
      expect(dead.message).toEqual(new Increment({ by: 5 }))
    }))
})

describe("stopping from inside actors", () => {
  class StopSelf extends Schema.TaggedClass<StopSelf>()("StopSelf", {}) {}
  class StopParent extends Schema.TaggedClass<StopParent>()("StopParent", {}) {}

  it.scoped("ctx.stop(ctx.self) is graceful: messages queued before it are still handled", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "inside" })
      const events = yield* system.subscribe
      const journal = makeJournal()
      const Quitter = Actor.make("Quitter", {
        protocol: [StopSelf, Note],
        receive: {
          StopSelf: (_, ctx) => ctx.stop(ctx.self),
          Note: (msg) => write(msg.text)
        },
        postStop: () => write("postStop")
      })
      const pid = yield* system.spawn(Quitter, "q").pipe(Effect.provideService(Journal, journal))
      yield* pid.tell(new StopSelf())
      yield* pid.tell(new Note({ text: "queued before the stop took hold" }))
      const stopped = yield* nextEvent(events, "ActorStopped")
      expect(stopped.reason).toBe("Stopped")
      expect(journal.entries).toEqual(["queued before the stop took hold", "postStop"])
    }))

  it.effect("a child that stops its parent from its handler does not deadlock", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "inside", shutdownTimeout: "1 hour" })
      const events = yield* system.subscribe
      const Child = Actor.make("Child", {
        protocol: [StopParent],
        receive: {
          StopParent: (_, ctx) =>
            Effect.flatMap(system.lookup("parent"), (parent) =>
              Option.match(parent, { onNone: () => Effect.void, onSome: (pid) => ctx.stop(pid) }))
        }
      })
      const Owner = Actor.make("Owner", {
        protocol: [Sync],
        receive: { Sync: (_, ctx) => Effect.asVoid(ctx.spawnChild(Child, "child")) }
      })
      const parent = yield* system.spawn(Owner, "parent")
      yield* parent.ask(new Sync())
      const child = Option.getOrThrow(yield* system.lookup("parent/child")) as unknown as Pid.Pid<StopParent>
      yield* child.tell(new StopParent())
      // No clock adjustment: the stop must not wait for the shutdown timeout.
      const stops = yield* eventsUntil(events, "ActorStopped", (e) => e.address.name === "parent")
      expect(ofTag(stops, "ActorStopped").map((e) => e.address.name)).toEqual(["child", "parent"])
      expect(yield* system.count).toBe(0)
    }).pipe(Effect.scoped))

  it.scoped("a message an actor tells itself in preStart is handled after it starts", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "inside" })
      const Eager = Actor.make("Eager", {
        protocol: [Increment, GetCount],
        initialState: () => 0,
        receive: {
          Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
          GetCount: (_, ctx) => ctx.get
        },
        preStart: (ctx) => Effect.orDie(ctx.self.tell(new Increment({ by: 10 })))
      })
      const pid = yield* system.spawn(Eager, "eager")
      expect(yield* pid.ask(new GetCount())).toBe(10)
    }))

  it.scoped("an actor that stops itself in preStart: the spawn succeeds, then it stops (postStop once)", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "inside" })
      const events = yield* system.subscribe
      const journal = makeJournal()
      const Quitter = Actor.make("EarlyQuitter", {
        protocol: [Increment],
        receive: { Increment: () => Effect.void },
        preStart: (ctx) => ctx.stop(ctx.self),
        postStop: () => write("postStop")
      })
      const pid = yield* system.spawn(Quitter, "q").pipe(Effect.provideService(Journal, journal))
      yield* nextEvent(events, "ActorStopped")
      expect(yield* pid.isAlive).toBe(false)
      expect(journal.entries).toEqual(["postStop"])
      expect(yield* system.count).toBe(0)
      expect(yield* Effect.flip(pid.tell(new Increment({ by: 1 })))).toMatchObject({ _tag: "ActorStopped" })
    }))

  it.scoped("a spawn waits for a slow preStart; the actor is not visible to lookup until then", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "inside" })
      const entered = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const Slow = Actor.make("Slow", {
        protocol: [Increment, GetCount],
        initialState: () => 0,
        receive: { Increment: (msg, ctx) => ctx.update((n) => n + msg.by), GetCount: (_, ctx) => ctx.get },
        preStart: () => Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate))
      })
      const spawning = yield* Effect.fork(system.spawn(Slow, "slow"))
      yield* Deferred.await(entered)
      expect(yield* system.lookup("slow")).toEqual(Option.none())
      // The name is held while preStart runs.
      expect(yield* Effect.flip(system.spawn(Counter, "slow"))).toMatchObject({ _tag: "NameTaken" })
      yield* Deferred.succeed(gate, undefined)
      const pid = yield* Fiber.join(spawning)
      yield* pid.tell(new Increment({ by: 2 }))
      expect(yield* pid.ask(new GetCount())).toBe(2)
      expect(Option.isSome(yield* system.lookup("slow"))).toBe(true)
    }))

  it.scoped("an ask from one actor to another carries the asker as sender", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "inside" })
      const ponger = yield* system.spawn(Ponger, "ponger")
      class AskIt extends Schema.TaggedRequest<AskIt>()("AskIt", {
        payload: {},
        success: Schema.Boolean,
        failure: Schema.Never
      }) {}
      const Asker = Actor.make("Asker", {
        protocol: [AskIt],
        receive: { AskIt: () => Effect.orDie(ponger.ask(new SenderOfAsk())) }
      })
      const asker = yield* system.spawn(Asker, "asker")
      expect(yield* asker.ask(new AskIt())).toBe(true)
    }))
})
