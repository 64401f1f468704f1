/**
 * A3 / D1: whatever the interleaving of tells from several senders, an actor
 * handles one message at a time (never two handlers at once) and each
 * sender's messages in the order it sent them.
 *
 * The handler raises a flag, yields to the scheduler (so that any other fiber
 * that could run a second handler of the same actor gets the chance), and
 * lowers the flag: finding the flag raised on entry is an overlap.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Fiber, Schema } from "effect"
import { Actor, ActorSystem, Mailbox, type Pid } from "../src/index.js"
import { PidSchema } from "./helpers.js"

class Msg extends Schema.TaggedClass<Msg>()("Msg", { sender: Schema.Number, seq: Schema.Number, yields: Schema.Number }) {}
class Report extends Schema.TaggedRequest<Report>()("Report", {
  payload: {},
  success: Schema.Struct({ handled: Schema.Number, overlaps: Schema.Number }),
  failure: Schema.Never
}) {}

/** The actor under test; `log` receives [sender, seq] per handled message. */
const makeTarget = (log: Array<readonly [number, number]>) => {
  let busy = false
  let overlaps = 0
  return Actor.make("Target", {
    protocol: [Msg, Report],
    receive: {
      Msg: (msg) =>
        Effect.suspend(() => {
          if (busy) overlaps++
          busy = true
          return Effect.zipRight(
            Effect.repeatN(Effect.yieldNow(), msg.yields),
            Effect.sync(() => {
              log.push([msg.sender, msg.seq])
              busy = false
            })
          )
        }),
      Report: () => Effect.sync(() => ({ handled: log.length, overlaps }))
    }
  })
}

/** Per sender: how many messages, and for each whether the sender yields after it and how long the handler yields. */
const plans = fc.array(
  fc.array(fc.record({ pause: fc.boolean(), yields: fc.integer({ min: 0, max: 2 }) }), { maxLength: 40 }),
  { minLength: 1, maxLength: 6 }
)

type Plan = ReadonlyArray<ReadonlyArray<{ readonly pause: boolean; readonly yields: number }>>

const check = (plan: Plan, log: ReadonlyArray<readonly [number, number]>, report: typeof Report.success.Type) => {
  const total = plan.reduce((n, msgs) => n + msgs.length, 0)
  expect(report.overlaps).toBe(0)
  expect(report.handled).toBe(total)
  plan.forEach((msgs, sender) => {
    const seqs = log.filter(([s]) => s === sender).map(([, seq]) => seq)
    expect(seqs).toEqual(msgs.map((_, seq) => seq))
  })
}

class Go extends Schema.TaggedClass<Go>()("Go", {
  target: PidSchema,
  sender: Schema.Number,
  steps: Schema.Array(Schema.Struct({ pause: Schema.Boolean, yields: Schema.Number }))
}) {}

/** An actor that sends its share of the plan to the target from its own handler (its own worker fiber). */
const Sender = Actor.make("Sender", {
  protocol: [Go],
  receive: {
    Go: (msg) => {
      const target = msg.target as unknown as Pid.Pid<Msg>
      return Effect.forEach(msg.steps, (step, seq) =>
        Effect.zipRight(
          Effect.orDie(target.tell(new Msg({ sender: msg.sender, seq, yields: step.yields }))),
          step.pause ? Effect.yieldNow() : Effect.void
        ), { discard: true })
    }
  }
})

describe("A3 one message at a time, in per-sender order", () => {
  it.effect("the overlap detector sees two handlers run at once (control: no actor around them)", () =>
    Effect.gen(function*() {
      const log: Array<readonly [number, number]> = []
      const target = makeTarget(log)
      // The handler does not read its context.
      const run = (seq: number) => target.receive.Msg(new Msg({ sender: 0, seq, yields: 1 }), undefined as never)
      yield* Effect.all([run(0), run(1)], { concurrency: "unbounded" })
      const report = yield* target.receive.Report(new Report(), undefined as never)
      // A handler's type allows `Handoff`; this one always replies.
      expect(typeof report === "symbol" ? undefined : report.overlaps).toBe(1)
    }))

  it.effect.prop("tells from several fibers", [plans], ([plan]) =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "prop" })
      const log: Array<readonly [number, number]> = []
      const target = yield* system.spawn(makeTarget(log), "target")
      const senders = yield* Effect.forEach(plan, (msgs, sender) =>
        Effect.fork(Effect.forEach(msgs, (step, seq) =>
          Effect.zipRight(
            target.tell(new Msg({ sender, seq, yields: step.yields })),
            step.pause ? Effect.yieldNow() : Effect.void
          ), { discard: true })))
      yield* Effect.forEach(senders, Fiber.join, { discard: true })
      // Every tell was accepted before this ask: FIFO puts the report after them all.
      const report = yield* target.ask(new Report())
      check(plan, log, report)
    }).pipe(Effect.scoped), { fastCheck: { numRuns: 60 } })

  it.effect.prop("tells from several actors, each on its own worker", [plans], ([plan]) =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "prop" })
      const log: Array<readonly [number, number]> = []
      const target = yield* system.spawn(makeTarget(log), "target")
      const total = plan.reduce((n, msgs) => n + msgs.length, 0)
      yield* Effect.forEach(plan, (steps, sender) =>
        Effect.flatMap(
          system.spawn(Sender, `sender-${sender}`),
          (pid) => pid.tell(new Go({ target, sender, steps }))
        ), { discard: true })
      // The senders run concurrently with us: wait until the target has seen every message.
      for (let i = 0; i < 10_000 && log.length < total; i++) yield* Effect.yieldNow()
      const report = yield* target.ask(new Report())
      check(plan, log, report)
    }).pipe(Effect.scoped), { fastCheck: { numRuns: 40 } })

  it.effect.prop("the same holds with a bounded mailbox large enough for the burst", [plans], ([plan]) =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "prop", mailbox: Mailbox.bounded(256) })
      const log: Array<readonly [number, number]> = []
      const target = yield* system.spawn(makeTarget(log), "target")
      const senders = yield* Effect.forEach(plan, (msgs, sender) =>
        Effect.fork(Effect.forEach(msgs, (step, seq) =>
          Effect.zipRight(
            target.tell(new Msg({ sender, seq, yields: step.yields })),
            step.pause ? Effect.yieldNow() : Effect.void
          ), { discard: true })))
      yield* Effect.forEach(senders, Fiber.join, { discard: true })
      check(plan, log, yield* target.ask(new Report()))
    }).pipe(Effect.scoped), { fastCheck: { numRuns: 30 } })
})
