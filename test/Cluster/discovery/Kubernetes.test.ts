import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as ClusterStore from "../../../src/Cluster/ClusterStore.js"
import * as Discovery from "../../../src/Cluster/Discovery.js"
import { type FakePod, startKubeApi } from "../../support/kubeApi.js"
import { formCluster, planNodes, type PlannedNode, startCluster, system } from "./threeNodes.js"
import { expectFieldErrors } from "./badConfig.js"

/** A token file, as a pod's service account mounts it; removed with the scope. */
const tokenFile = (token: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "ea-k8s-"))
      writeFileSync(join(dir, "token"), `${token}\n`)
      return dir
    }),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => join(dir, "token")))

const pod = (name: string, ip: string | undefined, ready: boolean, port = 7000): FakePod => ({
  name,
  namespace: "shop",
  labels: { app: "shop", tier: "actors" },
  ...(ip === undefined ? {} : { ip }),
  ready,
  ports: [{ name: "metrics", containerPort: 9090 }, { name: "remoting", containerPort: port }]
})

const setup = Effect.gen(function*() {
  const api = yield* startKubeApi("s3cret")
  const file = yield* tokenFile("s3cret")
  const config = {
    namespace: "shop",
    labelSelector: "app=shop,tier=actors",
    portName: "remoting",
    apiServer: api.url,
    tokenFile: file
  }
  return { api, file, config }
})

const make = (config: Discovery.Kubernetes.Config) =>
  Discovery.Kubernetes.make(config).pipe(Effect.provide(NodeHttpClient.layer))

describe("I8 discovery: Kubernetes", () => {
  it.scopedLive("lists Ready pods with an IP on their named port, by label selector and namespace", () =>
    Effect.gen(function*() {
      const { api, config } = yield* setup
      api.pods.push(
        pod("shop-0", "127.0.0.1", true, 7001),
        pod("shop-1", "127.0.0.2", true, 7002),
        pod("shop-2", "127.0.0.3", false), // not Ready
        pod("shop-3", undefined, false), // no IP yet
        { ...pod("shop-4", "127.0.0.5", true), terminating: true },
        { ...pod("other-0", "127.0.0.6", true), labels: { app: "other" } },
        { ...pod("shop-9", "127.0.0.7", true), namespace: "elsewhere" },
        { ...pod("shop-5", "127.0.0.8", true), ports: [{ name: "http", containerPort: 80 }] } // no such port
      )
      const discovery = yield* make({ ...config, system: "shop" })
      expect(yield* discovery.peers).toEqual([
        { nodeId: "shop-0", address: "shop@127.0.0.1:7001" },
        { nodeId: "shop-1", address: "shop@127.0.0.2:7002" }
      ])
    }))

  it.scopedLive("a wrong token, a missing token file, garbage and an oversized list are DiscoveryUnavailable", () =>
    Effect.gen(function*() {
      const { api, file, config } = yield* setup
      api.pods.push(pod("shop-0", "127.0.0.1", true))
      const other = yield* tokenFile("wrong")
      const denied = yield* Effect.flip((yield* make({ ...config, tokenFile: other })).peers)
      expect(denied.message).toContain("answered 401")
      const missing = yield* Effect.flip((yield* make({ ...config, tokenFile: `${file}.absent` })).peers)
      expect(missing.message).toContain("cannot read the token file")
      api.body = "<html>"
      expect((yield* Effect.flip((yield* make(config)).peers)).message).toContain("not JSON")
      api.body = JSON.stringify({ items: [{ metadata: {} }] })
      expect((yield* Effect.flip((yield* make(config)).peers)).message).toContain("unexpected pod list")
      api.body = JSON.stringify({ items: [], padding: "x".repeat(4096) })
      const big = yield* Effect.flip((yield* make({ ...config, maxResponseBytes: 1024 })).peers)
      expect(big).toMatchObject({ _tag: "DiscoveryUnavailable", provider: "kubernetes" })
      expect(big.message).toContain("exceeds 1024")
      // Without a content-length the limit holds while reading, before anything is parsed.
      api.chunked = true
      const streamed = yield* Effect.flip((yield* make({ ...config, maxResponseBytes: 1024 })).peers)
      expect(streamed.message).toContain("pod list exceeds 1024 bytes")
      api.body = undefined
      expect((yield* (yield* make(config)).peers).map((peer) => peer.nodeId)).toEqual(["shop-0"])
    }))

  it.effect("bad config fails with DiscoveryConfigInvalid naming the field", () =>
    Effect.gen(function*() {
      const good = { namespace: "shop", labelSelector: "app=shop", portName: "remoting" }
      const cases = [
        [{ ...good, namespace: "Shop_NS" }, "namespace"],
        [{ ...good, labelSelector: " " }, "labelSelector"],
        [{ ...good, portName: "a-very-long-port-name" }, "portName"],
        [{ ...good, apiServer: "ftp://api" }, "apiServer"],
        [{ ...good, maxResponseBytes: 10 }, "maxResponseBytes"],
        [{ namespace: "shop", labelSelector: "app=shop" }, "portName"]
      ] as const
      yield* expectFieldErrors("kubernetes", make, cases)
    }))

  const discoveryFor = (api: { url: string }, file: string) => (_: PlannedNode) =>
    Discovery.Kubernetes.layer({
      namespace: "shop",
      labelSelector: "app=shop",
      portName: "remoting",
      apiServer: api.url,
      tokenFile: file,
      system
    }).pipe(Layer.provide(NodeHttpClient.layer))

  it.scopedLive("three pods form one cluster, as with the static provider", () =>
    Effect.gen(function*() {
      const { api, file } = yield* setup
      const planned = yield* planNodes
      for (const node of planned) api.pods.push(pod(node.nodeId, "127.0.0.1", true, node.port))
      const expected = planned.map((node) => node.address).sort()
      for (const sight of yield* formCluster(planned, discoveryFor(api, file))) {
        expect(sight.members).toEqual(expected)
        expect(sight.peers).toEqual(expected)
      }
    }), 30_000)

  it.scopedLive("cold start: pods that see no Ready peer still form one cluster, not three (GoAkt #1265)", () =>
    Effect.gen(function*() {
      const { api, file } = yield* setup
      const planned = yield* planNodes
      // Every pod is scheduled, none is Ready yet: discovery finds nobody.
      for (const node of planned) api.pods.push(pod(node.nodeId, undefined, false, node.port))
      const cluster = yield* startCluster(planned, discoveryFor(api, file))
      const expected = planned.map((node) => node.address).sort()
      const cold = yield* cluster.until((s) => s.members.length === planned.length)
      for (const sight of cold) {
        expect(sight.peers).toEqual([])
        expect(sight.members).toEqual(expected) // one cluster of three: the store is the arbiter
      }
      // The kubelet marks them Ready: discovery now agrees with the store.
      for (const p of api.pods) Object.assign(p, { ip: "127.0.0.1", ready: true })
      const warm = yield* cluster.until((s) => s.peers.length === planned.length)
      for (const sight of warm) {
        expect(sight.members).toEqual(expected)
        expect(sight.peers).toEqual(expected)
      }
    }).pipe(Effect.provide(ClusterStore.layerMemory)), 30_000)
})
