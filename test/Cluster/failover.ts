/** What a SIGKILL test must show on every store (shared by the SQLite and PostgreSQL runs). */
import { expect } from "@effect/vitest"
import type { Effect } from "effect"
import type { killOneMidConversation } from "./killScenario.js"

export const expectSafeFailover = (result: Effect.Effect.Success<ReturnType<typeof killOneMidConversation>>) => {
  const { victim, lost, first, after, oracle, names } = result
  expect(lost.length).toBeGreaterThan(0)
  // Every actor of the dead node answers again, from a survivor, under a larger fence.
  after.forEach((answer, i) => {
    expect(answer.node).not.toBe(victim)
    expect(answer.fence).toBeGreaterThan(first[names.indexOf(lost[i]!)]!.fence)
  })
  // No write with an older fence ever came after a newer one: never two live owners of a name.
  expect(oracle.rejected).toEqual([])
  expect(oracle.rows.map((row) => row.name).sort()).toEqual([...names].sort())
  for (const row of oracle.rows) expect(row.node).not.toBe(victim)
}

