/**
 * Three node processes on one SQLite store (issue 10, tests): SIGKILL one
 * mid-conversation, its actors answer again from the survivors, and the
 * fenced-write oracle never saw two live owners of a name; three processes
 * spawning one name at once create exactly one actor.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { killOneMidConversation, spawnFromEveryNode, sqliteSetup } from "./killScenario.js"
import { expectSafeFailover } from "./failover.js"

describe("I4 kill -9 of a node process (SQLite)", () => {
  it.scopedLive("its actors come back on the survivors; the oracle never sees two owners of a name", () =>
    Effect.gen(function*() {
      expectSafeFailover(yield* killOneMidConversation(yield* sqliteSetup))
    }), 180_000)

  it.scopedLive("three processes spawning one name at once: exactly one actor", () =>
    Effect.gen(function*() {
      const { exits, owner } = yield* spawnFromEveryNode(yield* sqliteSetup, "the-one")
      expect(exits.filter(Exit.isSuccess)).toHaveLength(1)
      for (const exit of exits) if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("NameTaken")
      expect(owner?.live).toBe(true)
    }), 180_000)
})
