/**
 * The kill -9 test on PostgreSQL (127.0.0.1:5432, database `test`): three
 * node processes on one store in a schema of its own, one SIGKILLed
 * mid-conversation; its actors answer again from the survivors and the
 * fenced-write oracle never saw two live owners of a name. Three processes
 * spawning one name at once create exactly one actor. 10,000 grains over
 * the three, one killed: every grain answers again, never two at a time.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { join } from "node:path"
import { killOneMidConversation, type Setup, spawnFromEveryNode, tempDir } from "../Cluster/killScenario.js"
import { expectSafeFailover } from "../Cluster/failover.js"
import { expectGrainsBack, killUnderGrains } from "../Cluster/grainKill.js"
import { pgAdmin, pgUrl } from "./pg.js"

const pg = Effect.gen(function*() {
  const dir = yield* tempDir
  const schema = `ea_kill_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  yield* Effect.acquireRelease(pgAdmin(`CREATE SCHEMA ${schema}`), () => Effect.orDie(pgAdmin(`DROP SCHEMA ${schema} CASCADE`)))
  return { storeKind: "pg", store: pgUrl(schema), oracle: join(dir, "oracle.db") } satisfies Setup
})

describe("I4 kill -9 of a node process (PostgreSQL)", () => {
  it.scopedLive("its actors come back on the survivors; the oracle never sees two owners of a name", () =>
    Effect.gen(function*() {
      expectSafeFailover(yield* killOneMidConversation(yield* pg))
    }), 180_000)

  it.scopedLive("three processes spawning one name at once: exactly one actor", () =>
    Effect.gen(function*() {
      const { exits, owner } = yield* spawnFromEveryNode(yield* pg, "the-one")
      expect(exits.filter(Exit.isSuccess)).toHaveLength(1)
      expect(owner?.live).toBe(true)
    }), 180_000)

  it.scopedLive("10,000 grains over three nodes, one killed: every grain answers again, never two at a time", () =>
    Effect.gen(function*() {
      expectGrainsBack(yield* killUnderGrains(yield* pg, 10_000))
    }), 300_000)
})
