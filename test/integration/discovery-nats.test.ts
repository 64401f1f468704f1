/** NATS discovery against the NATS server on 127.0.0.1:4222, under a subject prefix unique to this run. */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue, Stream } from "effect"
import * as Discovery from "../../src/Cluster/Discovery.js"
import { formCluster, planNodes } from "../Cluster/discovery/threeNodes.js"
import { expectFieldErrors } from "../Cluster/discovery/badConfig.js"

const run = `ea-test-${randomUUID().slice(0, 8)}`
let tests = 0
/** A fresh prefix per test: tests never see each other's nodes. */
const freshPrefix = () => `${run}.t${++tests}`

const a = { nodeId: "node-a", address: "shop@127.0.0.1:7001" }
const b = { nodeId: "node-b", address: "shop@127.0.0.1:7002" }

describe("I8 discovery: NATS", () => {
  it.scopedLive("registered nodes answer requests; deregistered ones stop", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const nodeA = yield* Discovery.Nats.make({ prefix, gatherMillis: 200 })
      const nodeB = yield* Discovery.Nats.make({ prefix, gatherMillis: 200 })
      const client = yield* Discovery.Nats.make({ prefix, gatherMillis: 200 })
      expect(yield* client.peers).toEqual([])
      yield* nodeA.register(a)
      yield* nodeB.register(b)
      expect(yield* client.peers).toEqual([a, b])
      expect(yield* nodeA.peers).toEqual([a, b])
      yield* nodeA.deregister(a)
      expect(yield* client.peers).toEqual([b])
    }))

  it.scopedLive("watch follows join and leave, and closing a node's scope makes it leave", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const client = yield* Discovery.Nats.make({ prefix, gatherMillis: 100 })
      const seen = yield* Queue.unbounded<ReadonlyArray<string>>()
      const watching = yield* (client.watch ?? Stream.empty).pipe(
        Stream.runForEach((peers) => Queue.offer(seen, peers.map((peer) => peer.nodeId))),
        Effect.fork
      )
      expect(yield* Queue.take(seen)).toEqual([])
      const nodeA = yield* Discovery.Nats.make({ prefix })
      yield* nodeA.register(a)
      expect(yield* Queue.take(seen)).toEqual(["node-a"])
      yield* Effect.scoped(Effect.gen(function*() {
        const nodeB = yield* Discovery.Nats.make({ prefix })
        yield* nodeB.register(b)
        expect(yield* Queue.take(seen)).toEqual(["node-a", "node-b"])
      }))
      // nodeB's scope closed without a deregister: its finalizer published the leave.
      expect(yield* Queue.take(seen)).toEqual(["node-a"])
      expect((yield* client.peers).map((peer) => peer.nodeId)).toEqual(["node-a"])
      yield* Fiber.interrupt(watching)
    }))

  it.scopedLive("oversized and malformed replies are skipped, not decoded", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const node = yield* Discovery.Nats.make({ prefix })
      yield* node.register(a)
      const huge = yield* Discovery.Nats.make({ prefix })
      yield* huge.register({ nodeId: "node-huge", address: "x".repeat(8192) })
      const client = yield* Discovery.Nats.make({ prefix, gatherMillis: 200, maxReplyBytes: 1024 })
      expect(yield* client.peers).toEqual([a])
    }))

  it.scopedLive("an unreachable server is DiscoveryUnavailable naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Discovery.Nats.make({ servers: ["127.0.0.1:1"], connectTimeoutMillis: 2000 }))
      expect(error).toMatchObject({ _tag: "DiscoveryUnavailable", provider: "nats" })
      expect(error.message).toContain("127.0.0.1:1")
    }))

  it.scoped("bad config fails with DiscoveryConfigInvalid naming the field", () =>
    Effect.gen(function*() {
      const cases = [
        [{ prefix: "shop cluster" }, "prefix"],
        [{ prefix: "shop..cluster" }, "prefix"],
        [{ servers: [] }, "servers"],
        [{ servers: ["127.0.0.1:4222", "nats://a b"] }, "servers.1"],
        [{ gatherMillis: 0 }, "gatherMillis"],
        [{ maxReplyBytes: 10 }, "maxReplyBytes"]
      ] as const
      yield* expectFieldErrors("nats", (config: Discovery.Nats.Config) => Effect.scoped(Discovery.Nats.make(config)), cases)
    }))

  it.scopedLive("three nodes that register through NATS form one cluster, as with the static provider", () =>
    Effect.gen(function*() {
      const prefix = freshPrefix()
      const planned = yield* planNodes
      const expected = planned.map((node) => node.address).sort()
      // No counterpart to fill: each node's membership registers it on NATS as it joins.
      const sights = yield* formCluster(planned, () => Discovery.Nats.layer({ prefix, gatherMillis: 150 }))
      for (const sight of sights) {
        expect(sight.members).toEqual(expected)
        expect(sight.peers).toEqual(expected)
      }
    }))
})
