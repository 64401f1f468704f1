import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Actor, ActorSystem, type Errors, Pid } from "../src/index.js"
import type { RemotePid } from "../src/Remoting/internal/connection.js"
import { Collector, PingTo, Pong, Pongs } from "./fixtures/replyTo.js"
import { GetCount, type Increment } from "./helpers.js"

const Replier = Actor.make("Replier", {
  protocol: [PingTo],
  receive: { PingTo: (msg) => Effect.ignore(msg.replyTo.tell(new Pong({ n: msg.n + 1 }))) }
})

describe("Pid.schema locally", () => {
  it.scoped("a message carries a PID and the receiver replies through it", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.ActorSystem
      const collector = yield* system.spawn(Collector, "collector")
      const replier = yield* system.spawn(Replier, "replier")
      yield* replier.tell(new PingTo({ n: 1, replyTo: collector }))
      yield* replier.tell(new PingTo({ n: 2, replyTo: collector }))
      yield* Effect.yieldNow()
      expect(yield* collector.ask(new Pongs())).toEqual([2, 3])
    }).pipe(Effect.provide(ActorSystem.layer({ name: "pids" }))))

  it.scoped("encodes to the address and decodes (with the system's resolver) to the live local PID", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.ActorSystem
      const collector = yield* system.spawn(Collector, "collector")
      const encoded = yield* Schema.encode(PingTo)(new PingTo({ n: 1, replyTo: collector }))
      expect(encoded).toEqual({ _tag: "PingTo", n: 1, replyTo: "effect-actors://pids/collector" })
      const decoded = yield* Schema.decodeUnknown(PingTo)(encoded)
      expect(decoded.replyTo).toBe(collector)
      // No live actor there: the field does not decode.
      const missing = yield* Effect.flip(Schema.decodeUnknown(PingTo)({ ...encoded, replyTo: "effect-actors://pids/gone" }))
      expect(String(missing)).toContain("no actor can be reached at effect-actors://pids/gone")
      // Another system's address on this node is stale, and without remoting a remote address reaches nobody.
      const other = yield* Effect.flip(Schema.decodeUnknown(Pid.schema())("effect-actors://other/collector"))
      expect(String(other)).toContain("no actor can be reached")
      const remote = yield* Effect.flip(Schema.decodeUnknown(Pid.schema())("effect-actors://x@127.0.0.1:1/collector"))
      expect(String(remote)).toContain("no actor can be reached")
    }).pipe(Effect.provide(ActorSystem.layer({ name: "pids" }))))
})

describe("PID error types list what can happen (type-level)", () => {
  it("a PID's ask and restart include ActorNotFound and the remote errors", () => {
    type Counter = Pid.Pid<Increment | GetCount>
    type AskErr = Effect.Effect.Error<ReturnType<Counter["ask"]>>
    expectTypeOf<Errors.ActorNotFound>().toMatchTypeOf<AskErr>()
    expectTypeOf<Errors.NodeUnreachable | Errors.DecodeError | Errors.Unauthorized>().toMatchTypeOf<AskErr>()
    expectTypeOf<Errors.AskTimeout | Errors.ActorStopped | Errors.UnknownMessage>().toMatchTypeOf<AskErr>()
    expectTypeOf<Errors.ActorNotFound | Errors.NodeUnreachable>().toMatchTypeOf<Effect.Effect.Error<Counter["restart"]>>()
    expectTypeOf<Errors.NodeUnreachable>().toMatchTypeOf<Effect.Effect.Error<ReturnType<Counter["tell"]>>>()
  })

  it("a remote PID declares exactly what its operations fail with, within the Pid interface", () => {
    expectTypeOf<RemotePid>().toMatchTypeOf<Pid.Pid>()
    type Ask = ReturnType<RemotePid["ask"]>
    expectTypeOf<Errors.ActorNotFound>().toMatchTypeOf<Effect.Effect.Error<Ask>>()
    expectTypeOf<Errors.ActorNotFound>().toMatchTypeOf<Effect.Effect.Error<RemotePid["restart"]>>()
    expectTypeOf<Effect.Effect.Error<RemotePid["restart"]>>().toEqualTypeOf<Errors.AskError>()
    expectTypeOf<Effect.Effect.Error<ReturnType<RemotePid["tell"]>>>().toEqualTypeOf<
      Errors.DecodeError | Errors.UnknownMessage | Errors.MailboxFull
    >()
    // The reply keeps the request's typing.
    expectTypeOf<RemotePid["ask"]>().toBeCallableWith(new GetCount())
  })

  it("Pid.schema types the field by the protocol", () => {
    expectTypeOf<PingTo["replyTo"]>().toEqualTypeOf<Pid.Pid<Pong>>()
    expectTypeOf<Schema.Schema.Context<typeof PingTo>>().toEqualTypeOf<Pid.Resolver>()
    const byMessage = Pid.schema<Pong>()
    expectTypeOf<Schema.Schema.Type<typeof byMessage>>().toEqualTypeOf<Pid.Pid<Pong>>()
  })
})
