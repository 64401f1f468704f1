/**
 * The protocol of the remote benchmark, shared by `bench/remote.ts` and the
 * receiving process `bench/remote-node.ts`.
 */
import { Effect, Schema } from "effect"
import { Actor } from "../src/index.js"

export class Add extends Schema.TaggedClass<Add>()("Add", { n: Schema.Number }) {}
export class Count extends Schema.TaggedRequest<Count>()("Count", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}
export class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  payload: { n: Schema.Number },
  success: Schema.Number,
  failure: Schema.Never
}) {}

/** Counts what it is told; answers asks at once. */
export const Sink = Actor.make("Sink", {
  protocol: [Add, Count, Echo],
  initialState: () => ({ count: 0 }),
  passivateAfter: "never",
  receive: {
    Add: (msg, ctx) =>
      Effect.sync(() => {
        ctx.state.count += msg.n
      }),
    Count: (_, ctx) => Effect.sync(() => ctx.state.count),
    Echo: (msg) => Effect.succeed(msg.n)
  }
})

export class Seq extends Schema.TaggedClass<Seq>()("Seq", { n: Schema.Number }) {}
export class SeqReport extends Schema.TaggedRequest<SeqReport>()("SeqReport", {
  payload: {},
  success: Schema.Struct({ received: Schema.Number, outOfOrder: Schema.Number, heapMb: Schema.Number }),
  failure: Schema.Never
}) {}

/** A slow consumer (about 20 µs of work per message) that checks the sequence it receives. */
export const SlowSeq = Actor.make("SlowSeq", {
  protocol: [Seq, SeqReport],
  initialState: () => ({ next: 0, outOfOrder: 0 }),
  passivateAfter: "never",
  receive: {
    Seq: (msg, ctx) =>
      Effect.sync(() => {
        const until = performance.now() + 0.02
        while (performance.now() < until) {
          // the work of a slow consumer
        }
        if (msg.n !== ctx.state.next) ctx.state.outOfOrder++
        ctx.state.next = msg.n + 1
      }),
    SeqReport: (_, ctx) =>
      Effect.sync(() => ({
        received: ctx.state.next,
        outOfOrder: ctx.state.outOfOrder,
        heapMb: process.memoryUsage().heapUsed / 1024 / 1024
      }))
  }
})
