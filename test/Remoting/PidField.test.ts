import { describe, expect, it } from "@effect/vitest"
import { Effect, Equal, HashSet, Schema } from "effect"
import * as Net from "node:net"
import { Actor, Pid } from "../../src/index.js"
import { Collector, PingTo, Pong, Pongs } from "../fixtures/replyTo.js"
import { scopedNode } from "./fixtures.js"

/** An ask whose reply is a PID. */
class Echo extends Schema.TaggedRequest<Echo>()("Echo", {
  payload: { pid: Pid.schema([Pong]) },
  success: Pid.schema([Pong]),
  failure: Schema.Never
}) {}

const Replier = Actor.make("Replier", {
  protocol: [PingTo, Echo],
  passivateAfter: "never",
  receive: {
    PingTo: (msg) => Effect.ignore(msg.replyTo.tell(new Pong({ n: msg.n * 10 }))),
    Echo: (msg) => Effect.succeed(msg.pid)
  }
})

const eventually = <A, E>(check: Effect.Effect<A, E>, ok: (a: A) => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    let last = yield* check
    while (!ok(last) && Date.now() < deadline) {
      yield* Effect.sleep("10 millis")
      last = yield* check
    }
    return last
  })

describe("a PID inside a message (Pid.schema) crosses nodes", () => {
  it.scopedLive("the receiver replies through a PID it got in a message; a PID comes back as a reply", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b", { kinds: [Replier] })
      const collector = yield* a.system.spawn(Collector, "collector")
      const replier = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Replier, "replier")

      yield* replier.tell(new PingTo({ n: 1, replyTo: collector }))
      yield* replier.tell(new PingTo({ n: 2, replyTo: collector }))
      expect(yield* eventually(collector.ask(new Pongs()), (list) => list.length === 2)).toEqual([10, 20])

      // The PID went to node b and came back: node a resolves its own address to the local actor.
      const back = yield* replier.ask(new Echo({ pid: collector }))
      expect(back).toBe(collector)
      yield* back.tell(new Pong({ n: 3 }))
      expect(yield* eventually(collector.ask(new Pongs()), (list) => list.length === 3)).toEqual([10, 20, 3])
    }))

  it.scopedLive("two decodes of one remote address are Equal and make a HashSet of size 1", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b", { kinds: [Replier] })
      const replier = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Replier, "replier")
      const decode = Schema.decode(Pid.schema())
      const text = replier.address.toString()
      const one = yield* Effect.provideService(decode(text), Pid.Resolver, a.resolver)
      const two = yield* Effect.provideService(decode(text), Pid.Resolver, a.resolver)
      expect(Equal.equals(one, two)).toBe(true)
      expect(Equal.equals(one, replier)).toBe(true)
      expect(HashSet.size(HashSet.make(one, two, replier))).toBe(1)
    }))

  it.scopedLive("decoding a PID opens no connection; the first send does", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      let connections = 0
      const server = Net.createServer((socket) => {
        connections++
        socket.on("error", () => {})
      })
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => void server.listen(0, "127.0.0.1", () => resume(Effect.void))),
        () => Effect.sync(() => server.close())
      )
      const port = (server.address() as Net.AddressInfo).port
      const pid = yield* Effect.provideService(
        Schema.decode(Pid.schema([Pong]))(`effect-actors://elsewhere@127.0.0.1:${port}/someone`),
        Pid.Resolver,
        a.resolver
      )
      expect(pid.address.port).toBe(port)
      yield* Effect.sleep("200 millis")
      expect(connections).toBe(0)
      yield* Effect.ignore(pid.tell(new Pong({ n: 1 })))
      expect(yield* eventually(Effect.sync(() => connections), (n) => n > 0)).toBe(1)
    }))
})
