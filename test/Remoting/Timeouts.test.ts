/**
 * The remoting deadlines run on Effect's Clock: handshake and idle timeouts
 * of a node's server, connect timeouts and idle eviction of the pool, and
 * the test transport's delays are all driven here by `TestClock` (the
 * sockets are real; only time is simulated).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, TestClock } from "effect"
import type * as Net from "node:net"
import { RemoteClient, Transport } from "../../src/index.js"
import { blackHole, scopedNode } from "./fixtures.js"
import { openAuthenticated, openSocket } from "./wire.js"

/** Resolves when the node closes the socket (no timer: the event itself). */
const closedByPeer = (socket: Net.Socket) =>
  Effect.async<void>((resume) => {
    if (socket.destroyed || socket.readableEnded) return resume(Effect.void)
    socket.once("close", () => resume(Effect.void))
  })

describe("H4 deadlines on the Clock", () => {
  it.scoped("a socket without a handshake is closed after handshakeTimeout, an idle one after idleTimeout", () =>
    Effect.gen(function*() {
      const node = yield* scopedNode("n", { limits: { handshakeTimeout: "1 second", idleTimeout: "10 seconds" } })
      const silent = yield* openSocket(node.port)
      // Accepted in order: once this one is welcomed, the silent one is accepted too.
      const idle = yield* openAuthenticated(node.port)
      const stats = () => Effect.runSync(node.remoting.stats)
      expect(stats()).toMatchObject({ connections: 2, limited: 0, idle: 0 })

      yield* TestClock.adjust("900 millis")
      expect(stats()).toMatchObject({ connections: 2, limited: 0 })
      yield* TestClock.adjust("400 millis")
      expect(stats()).toMatchObject({ connections: 1, limited: 1 })
      yield* closedByPeer(silent)

      yield* TestClock.adjust("8 seconds")
      expect(stats()).toMatchObject({ connections: 1, idle: 0 })
      yield* TestClock.adjust("3 seconds")
      expect(stats()).toMatchObject({ connections: 0, idle: 1 })
      yield* closedByPeer(idle)
    }))

  it.scoped("a node that accepts but never answers the handshake fails the call after connectTimeout", () =>
    Effect.gen(function*() {
      const { port } = yield* blackHole
      const client = yield* RemoteClient.make({ connectTimeout: "1 second", askTimeout: "30 seconds" })
      const call = yield* Effect.fork(client.nodeInfo({ host: "127.0.0.1", port }))
      yield* TestClock.adjust("900 millis")
      expect(Option.isNone(yield* Fiber.poll(call))).toBe(true)
      yield* TestClock.adjust("400 millis")
      const error = yield* Effect.flip(Fiber.join(call))
      expect(error).toMatchObject({ _tag: "NodeUnreachable", reason: "connect timed out" })
    }))

  it.scoped("an idle outbound connection is closed after idleTimeout, and opens again when needed", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const a = yield* scopedNode("a", { idleTimeout: "1 second" })
      const nodeB = { host: "127.0.0.1", port: b.port }
      yield* a.remoting.nodeInfo(nodeB)
      expect(yield* a.remoting.outbound).toEqual([`127.0.0.1:${b.port}`])
      yield* TestClock.adjust("500 millis")
      expect(yield* a.remoting.outbound).toEqual([`127.0.0.1:${b.port}`])
      yield* TestClock.adjust("1 second")
      expect(yield* a.remoting.outbound).toEqual([])
      expect((yield* a.remoting.nodeInfo(nodeB)).system).toBe("b")
    }))

  it.effect("the test transport delays writes by the Clock, in order", () =>
    Effect.gen(function*() {
      const written: Array<string> = []
      const base: Transport.Service = {
        connect: (_host, port) => ({
          write: (bytes) => written.push(bytes.toString()),
          pendingBytes: 0,
          close: () => {},
          end: () => {},
          remote: `127.0.0.1:${port}`
        }),
        listen: () => Effect.dieMessage("not used")
      }
      const { controls, transport } = Transport.makeTest(base, yield* Effect.runtime<never>())
      const link = transport.connect("127.0.0.1", 1, { onOpen: () => {}, onData: () => {}, onClose: () => {} })
      link.write(Buffer.from("now"))
      controls.delay(100)
      link.write(Buffer.from("a"))
      link.write(Buffer.from("b"))
      controls.delay(0)
      link.write(Buffer.from("c")) // not delayed, but kept behind the delayed ones
      expect(written).toEqual(["now"])
      yield* TestClock.adjust("99 millis")
      expect(written).toEqual(["now"])
      yield* TestClock.adjust("1 millis")
      expect(written).toEqual(["now", "a", "b", "c"])
      link.write(Buffer.from("d"))
      expect(written).toEqual(["now", "a", "b", "c", "d"])
    }))
})
