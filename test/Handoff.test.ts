import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema, TestClock } from "effect"
import { Actor, ActorSystem, type Pid } from "../src/index.js"

class Get extends Schema.TaggedRequest<Get>()("Get", {
  payload: { key: Schema.String },
  success: Schema.String,
  failure: Schema.Never
}) {}
class Release extends Schema.TaggedClass<Release>()("Release", {}) {}

const Store = Actor.make("Store", {
  protocol: [Get, Release],
  receive: {
    Get: (msg) => Effect.succeed(`value of ${msg.key}`),
    Release: () => Effect.void
  }
})

// A request's handler may end with forward, stash or respond instead of a reply.
const Front = (store: Pid.Pid<Get | Release>) =>
  Actor.make("Front", {
    protocol: [Get, Release],
    initialState: () => ({ open: false }),
    receive: {
      Get: (msg, ctx) => msg.key === "later" && !ctx.state.open ? ctx.stash : ctx.forward(store),
      Release: (_, ctx) =>
        Effect.zipRight(Effect.sync(() => {
          ctx.state.open = true
        }), ctx.unstashAll)
    }
  })

const Echo = Actor.make("Echo", {
  protocol: [Get],
  receive: { Get: (msg, ctx) => Effect.zipLeft(ctx.respond(`early ${msg.key}`), Effect.log("after the reply")) }
})

describe("E3 Handoff: request handlers that forward, stash or respond", () => {
  it.scoped("forward: the final actor answers the asker", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "h1" })
      const store = yield* system.spawn(Store, "store")
      const front = yield* system.spawn(Front(store), "front")
      expect(yield* front.ask(new Get({ key: "a" }))).toBe("value of a")
    }))

  it.scoped("stash: the asker is answered once the request is unstashed", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "h2" })
      const store = yield* system.spawn(Store, "store")
      const front = yield* system.spawn(Front(store), "front")
      const pending = yield* Effect.fork(front.ask(new Get({ key: "later" }), { timeout: "1 minute" }))
      yield* TestClock.adjust("1 second")
      yield* front.tell(new Release())
      expect(yield* pending).toBe("value of later")
    }))

  it.scoped("respond: the reply goes out before the handler ends", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "h3" })
      const echo = yield* system.spawn(Echo, "echo")
      expect(yield* echo.ask(new Get({ key: "x" }))).toBe("early x")
    }))
})
