/**
 * A small tour of local actors: spawn, tell, ask, children, watch, stop.
 * Run with `npm run example:local`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Schema } from "effect"
import { Actor, ActorSystem } from "../src/index.js"

class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

const Counter = Actor.make("Counter", {
  protocol: [Increment, GetCount],
  initialState: () => 0,
  receive: {
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get
  },
  postStop: (ctx) => Effect.log(`counter stopped at ${ctx.state}`)
})

const program = Effect.gen(function*() {
  const system = yield* ActorSystem.ActorSystem
  const counter = yield* system.spawn(Counter, "counter")
  for (let i = 1; i <= 10; i++) yield* counter.tell(new Increment({ by: i }))
  const count = yield* counter.ask(new GetCount())
  yield* Effect.log(`count = ${count}`)
  yield* Effect.log(`actors: ${(yield* system.actors).map((p) => String(p.address)).join(", ")}`)
})

program.pipe(Effect.provide(ActorSystem.layer({ name: "tour" })), NodeRuntime.runMain)
