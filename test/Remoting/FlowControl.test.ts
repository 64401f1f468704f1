import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Fiber, Layer, Option, Queue } from "effect"
import * as Net from "node:net"
import { ActorSystem, type Pid, RemoteClient, Remoting, Transport } from "../../src/index.js"
import { Append, blackHole, Counter, GetCount, GetList, scopedNode, SlowSink, startNode } from "./fixtures.js"
import { FrameType, openAuthenticated, rawFrame } from "./wire.js"
import { Packr } from "msgpackr"

const mailboxOf = (pid: Pid.Pid<never>) => Effect.map(pid.metrics, (m) => m.mailboxSize)

describe("H3 flow control by credit", () => {
  it.scopedLive("without credit, tells wait (they are not dropped)", () =>
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

  it.scopedLive("a sender that keeps the thread lets the event loop run while its link is congested", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      // TCP whose links can be made to report a full write buffer.
      let congested = false
      const tcp = Transport.makeTcp()
      const transport: Transport.Service = {
        listen: tcp.listen,
        connect: (host, port, handler) => {
          const link = tcp.connect(host, port, handler)
          return {
            write: (bytes) => link.write(bytes),
            get pendingBytes() {
              return congested ? 1 << 30 : link.pendingBytes
            },
            close: () => link.close(),
            end: () => link.end(),
            remote: link.remote
          }
        }
      }
      const context = yield* Layer.build(
        Remoting.layer({ kinds: [Counter] }).pipe(
          Layer.provideMerge(ActorSystem.layer({ name: "a" })),
          Layer.provide(Layer.succeed(Transport.Transport, transport))
        )
      )
      const remoting = Context.get(context, Remoting.Remoting)
      const counter = yield* remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "counter")
      expect(yield* counter.ask(new GetList())).toEqual([])
      congested = true
      let sent = 0
      let sentWhenTheLoopRan = -1
      setImmediate(() => {
        sentWhenTheLoopRan = sent
        congested = false
      })
      // One fiber telling in a loop: it never lets the event loop run unless a tell waits.
      for (let n = 0; n < 5000; n++) {
        yield* counter.tell(new Append({ n }))
        sent++
      }
      expect(sentWhenTheLoopRan).toBe(0)
      expect(yield* counter.ask(new GetList())).toEqual(Array.from({ length: 5000 }, (_, n) => n))
    }))

  it.scopedLive("a small window still delivers everything, in order", () =>
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

  it.scopedLive("a fast sender to a slow actor waits: the receiver's mailbox stays within the window", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b", { kinds: [SlowSink] })
      const a = yield* scopedNode("a", { maxPending: 50 })
      const slow = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, SlowSink, "slow")
      const local = Option.getOrThrow(yield* b.system.lookup("slow")) as Pid.Pid<never>
      const sender = yield* Effect.fork(
        Effect.forEach(Array.from({ length: 400 }, (_, n) => n), (n) => slow.tell(new Append({ n })), { discard: true })
      )
      let peak = 0
      while (Option.isNone(yield* Fiber.poll(sender))) {
        peak = Math.max(peak, yield* mailboxOf(local))
        yield* Effect.sleep("5 millis")
      }
      expect(peak).toBeGreaterThan(0)
      expect(peak).toBeLessThanOrEqual(50)
      const list = yield* slow.ask(new GetList(), { timeout: "10 seconds" })
      expect(list).toEqual(Array.from({ length: 400 }, (_, n) => n))
    }), 30_000)

  it.scopedLive("backpressure \"fail\": a tell without credit fails with MailboxFull", () =>
    Effect.gen(function*() {
      const { server } = yield* blackHole
      const port = (server.address() as Net.AddressInfo).port
      const client = yield* RemoteClient.make({ maxPending: 4, backpressure: "fail" })
      const target = { host: "127.0.0.1", port, name: "sink" }
      const results = yield* Effect.forEach(Array.from({ length: 6 }, (_, n) => n), (n) =>
        Effect.either(client.tell(target, new Append({ n }))))
      expect(results.filter(Either.isRight).length).toBe(4)
      const refused = results.find(Either.isLeft)
      expect(refused !== undefined && refused.left._tag).toBe("MailboxFull")
    }))

  it.scopedLive("a node dies with tells unconfirmed: the sender gets their count per target (at most one window)", () =>
    Effect.gen(function*() {
      const b = yield* startNode("b", { kinds: [SlowSink] })
      const a = yield* scopedNode("a", { maxPending: 100 })
      const events = yield* a.system.subscribe
      const slow = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, SlowSink, "slow")
      yield* Effect.fork(
        Effect.forEach(Array.from({ length: 1000 }, (_, n) => n), (n) => slow.tell(new Append({ n })), { discard: true })
      )
      yield* Effect.sleep("100 millis")
      yield* b.close
      const event = yield* Queue.take(events).pipe(
        Effect.repeat({ until: (e) => e._tag === "RemoteTellsUnconfirmed" }),
        Effect.timeout("5 seconds")
      )
      if (event._tag !== "RemoteTellsUnconfirmed") throw new Error("unreachable")
      expect(event.node).toBe(`127.0.0.1:${b.port}`)
      const total = event.counts.reduce((sum, c) => sum + c.count, 0)
      expect(total).toBeGreaterThan(0)
      expect(total).toBeLessThanOrEqual(100)
      expect(event.counts[0]?.target).toBe("b@slow")
    }), 30_000)
})

describe("H3 addresses are data", () => {
  const packr = new Packr({ useRecords: false })

  it.scopedLive("a made-up sender address opens no connection; replying to it would", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      yield* b.system.spawn(Counter, "counter")
      const socket = yield* openAuthenticated(b.port)
      const flat: Array<unknown> = []
      for (let i = 0; i < 50; i++) flat.push("counter", `effect-actors://x@127.0.0.1:${1000 + i}/y`, [{ _tag: "Increment", by: 1 }])
      socket.write(rawFrame(FrameType.Tells, packr.pack(flat)))
      const local = Option.getOrThrow(yield* b.system.lookup("counter")) as Pid.Pid<GetCount>
      let count = 0
      for (let i = 0; i < 100 && count < 50; i++) {
        count = yield* local.ask(new GetCount())
        yield* Effect.sleep("10 millis")
      }
      expect(count).toBe(50)
      expect(yield* b.remoting.outbound).toEqual([])
      socket.destroy()
    }))

  it.scopedLive("the pool is bounded and evicts idle connections first (idle closing: Timeouts.test.ts)", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const c = yield* scopedNode("c")
      const a = yield* scopedNode("a", { maxConnections: 1 })
      expect(yield* a.remoting.outbound).toEqual([])
      yield* a.remoting.nodeInfo({ host: "127.0.0.1", port: b.port })
      expect(yield* a.remoting.outbound).toEqual([`127.0.0.1:${b.port}`])
      // A second node: the idle connection to b makes room.
      yield* a.remoting.nodeInfo({ host: "127.0.0.1", port: c.port })
      expect(yield* a.remoting.outbound).toEqual([`127.0.0.1:${c.port}`])
      // And back: the idle connection to c makes room for b again.
      expect((yield* a.remoting.nodeInfo({ host: "127.0.0.1", port: b.port })).system).toBe("b")
      expect(yield* a.remoting.outbound).toEqual([`127.0.0.1:${b.port}`])
    }))
})
