import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Discovery from "../../../src/Cluster/Discovery.js"
import { startDnsServer } from "../../support/dnsServer.js"
import { formCluster, planNodes, system } from "./threeNodes.js"
import { expectFieldErrors } from "./badConfig.js"

describe("I8 discovery: DNS", () => {
  it.scoped("resolves A records to peers on the configured port", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      dns.zones.set("nodes.shop.test", { A: ["127.0.0.1", "127.0.0.2"] })
      const discovery = yield* Discovery.Dns.make({
        name: "nodes.shop.test",
        type: "A",
        port: 7000,
        servers: [dns.server],
        system: "shop"
      })
      expect(yield* discovery.peers).toEqual([
        { nodeId: "127.0.0.1:7000", address: "shop@127.0.0.1:7000" },
        { nodeId: "127.0.0.2:7000", address: "shop@127.0.0.2:7000" }
      ])
    }))

  it.scoped("resolves AAAA records, bracketing the host", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      dns.zones.set("v6.shop.test", { A: ["127.0.0.9"], AAAA: ["::1"] })
      const v6 = yield* Discovery.Dns.make({ name: "v6.shop.test", type: "AAAA", port: 7001, servers: [dns.server] })
      expect(yield* v6.peers).toEqual([{ nodeId: "[::1]:7001", address: "[::1]:7001" }])
      const both = yield* Discovery.Dns.make({ name: "v6.shop.test", type: "A+AAAA", port: 7001, servers: [dns.server] })
      expect((yield* both.peers).map((peer) => peer.address)).toEqual(["127.0.0.9:7001", "[::1]:7001"])
    }))

  it.scoped("resolves SRV records: each target's address with its own port", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      dns.zones.set("_actors._tcp.shop.test", {
        SRV: [{ target: "a.shop.test", port: 7100 }, { target: "b.shop.test", port: 7200 }]
      })
      dns.zones.set("a.shop.test", { A: ["127.0.0.1"] })
      dns.zones.set("b.shop.test", { AAAA: ["::1"] })
      const discovery = yield* Discovery.Dns.make({
        name: "_actors._tcp.shop.test",
        type: "SRV",
        servers: [dns.server],
        system: "shop"
      })
      expect((yield* discovery.peers).map((peer) => peer.address)).toEqual([
        "shop@127.0.0.1:7100",
        "shop@[::1]:7200"
      ])
    }))

  it.scoped("a name that does not exist yet is no peers (a cold start), not an error", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const discovery = yield* Discovery.Dns.make({ name: "later.shop.test", type: "A", port: 7000, servers: [dns.server] })
      expect(yield* discovery.peers).toEqual([])
      expect(dns.queries()).toBeGreaterThan(0)
    }))

  it.scoped("a failing server is DiscoveryUnavailable naming the query", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      dns.zones.set("broken.shop.test", { broken: true })
      const discovery = yield* Discovery.Dns.make({
        name: "broken.shop.test",
        type: "A",
        port: 7000,
        servers: [dns.server],
        tries: 1
      })
      const error = yield* Effect.flip(discovery.peers)
      expect(error._tag).toBe("DiscoveryUnavailable")
      expect(error.message).toContain("A broken.shop.test")
    }))

  it.scopedLive("watch emits the peers again when the records change", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      dns.zones.set("w.shop.test", { A: ["127.0.0.1"] })
      const discovery = yield* Discovery.Dns.make({
        name: "w.shop.test",
        type: "A",
        port: 7000,
        servers: [dns.server],
        watchIntervalMillis: 20
      })
      const seen = yield* (discovery.watch ?? Stream.empty).pipe(
        Stream.tap((peers) =>
          Effect.sync(() => {
            if (peers.length === 1) dns.zones.set("w.shop.test", { A: ["127.0.0.1", "127.0.0.3"] })
          })
        ),
        Stream.take(2),
        Stream.runCollect
      )
      expect([...seen].map((peers) => peers.map((peer) => peer.nodeId))).toEqual([
        ["127.0.0.1:7000"],
        ["127.0.0.1:7000", "127.0.0.3:7000"]
      ])
    }))

  it.effect("bad config fails with DiscoveryConfigInvalid naming the field", () =>
    Effect.gen(function*() {
      const cases = [
        [{ name: "x.test", type: "A" }, "port"],
        [{ name: "x.test", type: "A", port: 70000 }, "port"],
        [{ name: "", type: "SRV" }, "name"],
        [{ name: "x.test", type: "MX", port: 1 }, "type"],
        [{ name: "x.test", type: "SRV", servers: ["127.0.0.1:53", "dns.example:53"] }, "servers.1"],
        [{ name: "x.test", type: "SRV", timeoutMillis: -1 }, "timeoutMillis"],
        [{ name: "x.test", type: "SRV", sytem: "shop" }, "sytem"]
      ] as const
      yield* expectFieldErrors("dns", Discovery.Dns.make, cases)
    }))

  it.scopedLive("three nodes found through SRV records form one cluster, as with the static provider", () =>
    Effect.gen(function*() {
      const dns = yield* startDnsServer
      const planned = yield* planNodes
      dns.zones.set("_actors._tcp.shop.test", {
        SRV: planned.map((node) => ({ target: `${node.nodeId}.shop.test`, port: node.port }))
      })
      for (const node of planned) dns.zones.set(`${node.nodeId}.shop.test`, { A: ["127.0.0.1"] })
      const expected = planned.map((node) => node.address).sort()
      const viaDns = yield* formCluster(planned, () =>
        Discovery.Dns.layer({ name: "_actors._tcp.shop.test", type: "SRV", servers: [dns.server], system }))
      for (const sight of viaDns) {
        expect(sight.members).toEqual(expected)
        expect(sight.peers).toEqual(expected)
      }
    }), 30_000)
})
