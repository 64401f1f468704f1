/** The counter the cluster benchmark sends to. */
import { Schema } from "effect"
import { Actor } from "../../src/index.js"

export class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
export class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

export const Counter = Actor.make("Counter", {
  protocol: [Increment, GetCount],
  initialState: () => 0,
  passivateAfter: "never",
  receive: {
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get
  }
})
