/**
 * mDNS discovery with real multicast DNS packets on this host's loopback
 * interface (multicast-dns on 127.0.0.1, group 224.0.0.251), on a free UDP
 * port and a service name unique to the run, so it never meets real mDNS
 * traffic on 5353 and runs side by side with other tests.
 */
import { randomUUID } from "node:crypto"
import { createSocket } from "node:dgram"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Stream } from "effect"
import * as Discovery from "../../../src/Cluster/Discovery.js"
import { formCluster, planNodes } from "./threeNodes.js"
import { expectFieldErrors } from "./badConfig.js"

const freeUdpPort = Effect.async<number>((resume) => {
  const socket = createSocket("udp4")
  socket.bind(0, "127.0.0.1", () => {
    const { port } = socket.address()
    socket.close(() => resume(Effect.succeed(port)))
  })
})

const run = randomUUID().slice(0, 8)
let tests = 0
/** A loopback config with its own port and service name. */
const loopback = Effect.map(freeUdpPort, (port) => ({
  interface: "127.0.0.1",
  port,
  service: `ea-${run}-${++tests}`,
  gatherMillis: 150
}))

const a = { nodeId: "node-a", address: "shop@127.0.0.1:7001" }
const b = { nodeId: "node.b", address: "shop@[::1]:7002" }

describe("I8 discovery: mDNS", () => {
  it.scopedLive("registered nodes answer queries; a deregistered one stops", () =>
    Effect.gen(function*() {
      const config = yield* loopback
      const nodeA = yield* Discovery.Mdns.make(config)
      const nodeB = yield* Discovery.Mdns.make(config)
      const client = yield* Discovery.Mdns.make(config)
      expect(yield* client.peers).toEqual([])
      yield* nodeA.register(a)
      yield* nodeB.register(b)
      expect(yield* client.peers).toEqual([a, b])
      yield* nodeB.deregister(b)
      expect(yield* client.peers).toEqual([a])
    }))

  it.scopedLive("watch follows announcements and the goodbye a closing scope sends", () =>
    Effect.gen(function*() {
      const config = yield* loopback
      const client = yield* Discovery.Mdns.make(config)
      const seen = yield* Queue.unbounded<ReadonlyArray<string>>()
      const watching = yield* (client.watch ?? Stream.empty).pipe(
        Stream.runForEach((peers) => Queue.offer(seen, peers.map((peer) => peer.nodeId))),
        Effect.fork
      )
      expect(yield* Queue.take(seen)).toEqual([])
      const nodeA = yield* Discovery.Mdns.make(config)
      yield* nodeA.register(a)
      expect(yield* Queue.take(seen)).toEqual(["node-a"])
      yield* Effect.scoped(Effect.gen(function*() {
        const nodeB = yield* Discovery.Mdns.make(config)
        yield* nodeB.register(b)
        expect(yield* Queue.take(seen)).toEqual(["node-a", "node.b"])
      }))
      expect(yield* Queue.take(seen)).toEqual(["node-a"])
      yield* Fiber.interrupt(watching)
    }))

  it.scopedLive("another service's nodes are not peers", () =>
    Effect.gen(function*() {
      const config = yield* loopback
      const other = yield* Discovery.Mdns.make({ ...config, service: `${config.service}-other` })
      yield* other.register(a)
      const client = yield* Discovery.Mdns.make(config)
      expect(yield* client.peers).toEqual([])
    }))

  it.effect("bad config fails with DiscoveryConfigInvalid naming the field", () =>
    Effect.gen(function*() {
      const cases = [
        [{ service: "my service" }, "service"],
        [{ interface: "lo" }, "interface"],
        [{ group: "10.0.0.1" }, "group"],
        [{ port: 0 }, "port"],
        [{ ttlSeconds: 0 }, "ttlSeconds"],
        [{ gatherMillis: 1.5 }, "gatherMillis"]
      ] as const
      yield* expectFieldErrors("mdns", (config: Discovery.Mdns.Config) => Effect.scoped(Discovery.Mdns.make(config)), cases)
    }))

  it.scopedLive("three nodes that announce themselves over mDNS form one cluster, as with the static provider", () =>
    Effect.gen(function*() {
      const config = yield* loopback
      const planned = yield* planNodes
      const expected = planned.map((node) => node.address).sort()
      const sights = yield* formCluster(planned, () => Discovery.Mdns.layer(config))
      for (const sight of sights) {
        expect(sight.members).toEqual(expected)
        expect(sight.peers).toEqual(expected)
      }
    }), 30_000)
})
