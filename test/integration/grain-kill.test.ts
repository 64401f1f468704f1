/**
 * Grains under a kill -9 at full scale (issue 11, tests): 10,000 grains
 * activated across three node processes on one SQLite store, the node
 * holding the most SIGKILLed; every grain answers again on a survivor, and
 * the fenced-write oracle never saw two live activations of an id or a
 * fence that went back.
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { expectGrainsBack, killUnderGrains } from "../Cluster/grainKill.js"
import { sqliteSetup } from "../Cluster/killScenario.js"

describe("I2 grains under kill -9 of a node process (SQLite)", () => {
  it.scopedLive("10,000 grains over three nodes, one killed: every grain answers again, never two at a time", () =>
    Effect.gen(function*() {
      expectGrainsBack(yield* killUnderGrains(yield* sqliteSetup, 10_000))
    }), 300_000)
})
