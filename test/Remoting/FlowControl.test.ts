import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as Net from "node:net"
import { RemoteClient } from "../../src/index.js"
import { Append, Counter, GetList, scopedNode } from "./fixtures.js"

/** A TCP server that accepts connections and never answers: every call stays in flight. */
const blackHole = Effect.acquireRelease(
  Effect.async<{ readonly server: Net.Server; readonly sockets: Set<Net.Socket> }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("data", () => {})
    })
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed({ server, sockets })))
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)

describe("H3 flow control", () => {
  it.scopedLive("when the outbox is full, tells wait (they are not dropped)", () =>
    Effect.gen(function*() {
      const { server } = yield* blackHole
      const port = (server.address() as Net.AddressInfo).port
      const client = yield* RemoteClient.make({ maxBatch: 4, maxPending: 8 })
      const target = { host: "127.0.0.1", port, name: "sink" }
      const sender = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 100 }, (_, i) => i), (n) => client.tell(target, new Append({ n })), {
          discard: true
        })
      )
      yield* Effect.sleep("300 millis")
      // The handshake never completes: 8 tells use the window, the sender is suspended on the 9th.
      expect(Option.isNone(yield* Fiber.poll(sender))).toBe(true)
      yield* Fiber.interrupt(sender)
    }))

  it.scopedLive("a small bound still delivers everything, in order", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const a = yield* scopedNode("a", { maxBatch: 16, maxPending: 32 })
      const counter = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "counter")
      yield* Effect.forEach(Array.from({ length: 3000 }, (_, i) => i), (n) => counter.tell(new Append({ n })), {
        discard: true
      })
      const list = yield* counter.ask(new GetList())
      expect(list).toEqual(Array.from({ length: 3000 }, (_, i) => i))
    }))
})
