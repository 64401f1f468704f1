import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Discovery from "../../../src/Cluster/Discovery.js"
import { importOptional } from "../../../src/Cluster/internal/discovery/optional.js"
import { formCluster, planNodes } from "./threeNodes.js"

describe("I8 discovery: static, the baseline", () => {
  it.scopedLive("three nodes with a static list form one cluster: members and peers agree", () =>
    Effect.gen(function*() {
      const planned = yield* planNodes
      const expected = planned.map((node) => node.address).sort()
      const sights = yield* formCluster(planned, () => Discovery.layerStatic(planned))
      expect(sights.map((sight) => sight.nodeId)).toEqual(["node-1", "node-2", "node-3"])
      for (const sight of sights) {
        expect(sight.members).toEqual(expected)
        expect(sight.peers).toEqual(expected)
      }
    }), 30_000)

  it.effect("an optional package that is not installed is DiscoveryPackageMissing naming it", () =>
    Effect.gen(function*() {
      const name = "effect-actors-no-such-package"
      const error = yield* Effect.flip(importOptional("nats", name, () => import(/* @vite-ignore */ name)))
      expect(error).toMatchObject({ _tag: "DiscoveryPackageMissing", provider: "nats", package: name })
      expect(error.message).toContain(`npm install ${name}`)
    }))
})
