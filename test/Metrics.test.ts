import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Metric, MetricLabel, Option, Schema } from "effect"
import { Actor, ActorSystem, Metrics } from "../src/index.js"

class Work extends Schema.TaggedClass<Work>()("Work", { n: Schema.Number }) {}
class Shout extends Schema.TaggedClass<Shout>()("Shout", { text: Schema.String }) {}
class Count extends Schema.TaggedRequest<Count>()("Count", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

const Worker = Actor.make("Worker", {
  protocol: [Work, Shout, Count],
  initialState: () => 0,
  receive: {
    Work: (msg, ctx) => ctx.update((n) => n + msg.n),
    Shout: (msg) => Effect.logInfo(msg.text),
    Count: (_, ctx) => ctx.get
  }
})

const Parent = Actor.make("Parent", {
  protocol: [Count],
  preStart: (ctx) =>
    Effect.asVoid(Effect.zip(ctx.spawnChild(Worker, "a"), ctx.spawnChild(Worker, "b"))),
  receive: { Count: () => Effect.succeed(0) }
})

describe("J1 metrics", () => {
  it.scoped("a PID's snapshot counts what it processed, its mailbox, children and restarts", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "m1" })
      const worker = yield* system.spawn(Worker, "w")
      yield* worker.batchTell([new Work({ n: 1 }), new Work({ n: 2 }), new Work({ n: 3 })])
      expect(yield* worker.ask(new Count())).toBe(6)
      const m = yield* worker.metrics
      expect(m.address).toBe("effect-actors://m1/w")
      expect(m.processed).toBe(4)
      expect(m.mailboxSize).toBe(0)
      expect(m.restarts).toBe(0)
      expect(m.children).toBe(0)
      expect(m.stashSize).toBe(0)
      expect(Option.isNone(m.lastProcessingMillis)).toBe(true)
      const parent = yield* system.spawn(Parent, "p")
      expect((yield* parent.metrics).children).toBe(2)
    }))

  it.scoped("system totals reach Effect's metric registry tagged with the system name", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "m2" })
      const worker = yield* system.spawn(Worker, "w")
      for (let i = 0; i < 10; i++) yield* worker.tell(new Work({ n: i }))
      expect(yield* worker.ask(new Count())).toBe(45)
      yield* worker.stop
      yield* Effect.either(worker.tell(new Work({ n: 1 })))
      const snapshot = yield* system.metrics
      expect(snapshot).toEqual({ actors: 0, deadletters: 1, processed: 11, eventsMissed: 0 })
      const deadletters = yield* Metric.value(Metrics.deadletters.pipe(Metric.tagged("system", "m2")))
      expect(deadletters.count).toBe(1)
      const processed = yield* Metric.value(Metrics.messagesProcessed.pipe(Metric.tagged("system", "m2")))
      expect(processed.count).toBe(11)
      const actors = yield* Metric.value(Metrics.actors.pipe(Metric.tagged("system", "m2")))
      expect(actors.value).toBe(0)
    }))

  it.scoped("per-actor series carry the actor's address", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "m3", metrics: { perActor: true, processingTime: true } })
      const worker = yield* system.spawn(Worker, "w")
      yield* worker.tell(new Work({ n: 5 }))
      expect(yield* worker.ask(new Count())).toBe(5)
      const m = yield* worker.metrics
      expect(Option.isSome(m.lastProcessingMillis)).toBe(true)
      const processed = yield* Metric.value(
        Metrics.actorProcessed.pipe(Metric.taggedWithLabels([
          MetricLabel.make("system", "m3"),
          MetricLabel.make("actor", "effect-actors://m3/w")
        ]))
      )
      expect(processed.value).toBe(2)
    }))
})

const Quiet = Actor.make("Quiet", {
  protocol: [Work],
  initialState: () => 0,
  receive: { Work: (msg, ctx) => ctx.update((n) => n + msg.n) },
  postStop: (ctx) => Effect.logInfo(`quiet stopped at ${ctx.state}`)
})

describe("J2 logging", () => {
  it.scoped("lifecycle logs (postStop) carry the actor's address, whichever actor the worker served before", () =>
    Effect.gen(function*() {
      const lines: Array<{ message: string; actor: unknown }> = []
      const logger = Logger.make(({ annotations, message }) => {
        let actor: unknown = undefined
        for (const [k, v] of annotations) if (k === "actor") actor = v
        lines.push({ message: JSON.stringify(message), actor })
      })
      const system = yield* ActorSystem.make({ name: "log2", logger })
      const loud = yield* system.spawn(Worker, "loud")
      const quiet = yield* system.spawn(Quiet, "quiet")
      yield* loud.tell(new Shout({ text: "hi" }))
      expect(yield* loud.ask(new Count())).toBe(0)
      yield* quiet.tell(new Work({ n: 3 }))
      yield* quiet.stop
      const stopped = lines.find((l) => l.message.includes("quiet stopped at 3"))
      expect(stopped?.actor).toBe("effect-actors://log2/quiet")
      expect(lines.find((l) => l.message.includes("hi"))?.actor).toBe("effect-actors://log2/loud")
    }))

  it.scoped("a handler's logs carry the actor address and the message tag; the logger is replaceable", () =>
    Effect.gen(function*() {
      const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, message }) => {
        const record: Record<string, unknown> = {}
        for (const [k, v] of annotations) record[k] = v
        lines.push({ message, annotations: record })
      })
      const system = yield* ActorSystem.make({ name: "log", logger })
      const worker = yield* system.spawn(Worker, "w")
      yield* worker.tell(new Shout({ text: "hello" }))
      expect(yield* worker.ask(new Count())).toBe(0)
      const line = lines.find((l) => JSON.stringify(l.message).includes("hello"))
      expect(line?.annotations).toEqual({ actor: "effect-actors://log/w", message: "Shout" })
    }))
})
