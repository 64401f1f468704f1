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
