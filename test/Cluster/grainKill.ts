/**
 * The grain kill -9 scenario (issue 11, tests): three node processes
 * (`fixtures/oracleNode.ts`, whose `Writer` kind serves as the grain kind)
 * and the driver of `killScenario.ts`. Many grains are activated across the
 * nodes by their first `Write`, the node holding the most is SIGKILLed, and
 * once the driver's view has dropped it every grain is asked again. Each
 * grain must answer its first message and, after the kill, its next one
 * (no retries: the router waits out what nothing processed). Each
 * activation writes its fence to the oracle in `preStart` and on every
 * `Write`, refused when older than one already accepted: two live
 * activations of one id, or a fence that went back, show in `rejected`.
 */
import { SqlClient } from "@effect/sql"
import { expect } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Cluster } from "../../src/index.js"
import { Write, Writer } from "./fixtures/oracleNode.js"
import { cluster, type Setup } from "./killScenario.js"

const grainName = (id: string) => `~Writer~~${id}`

/** One `Write` to a grain, not retried: the grain must answer this very message. */
const write = (c: Cluster.Service, id: string) =>
  Effect.flatMap(c.grain(Writer, id), (ref) => ref.ask(new Write(), { timeout: "30 seconds" }))

/** Activates `count` grains, kills the node with the most, asks every grain again: the answers and the oracle. */
export const killUnderGrains = (setup: Setup, count: number) =>
  Effect.gen(function*() {
    const { children, context } = yield* cluster(setup)
    return yield* Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const ids = Array.from({ length: count }, (_, i) => `g-${i}`)
      const first = yield* Effect.forEach(ids, (id) => write(c, id), { concurrency: 64 })
      const counts = new Map<string, number>()
      for (const answer of first) counts.set(answer.node, (counts.get(answer.node) ?? 0) + 1)
      const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0]
      children.get(victim)?.kill("SIGKILL")
      yield* Effect.repeat(c.nodes, {
        until: (members) => !members.some((member) => member.nodeId === victim),
        schedule: Schedule.spaced("100 millis")
      })
      const second = yield* Effect.forEach(ids, (id) => write(c, id), { concurrency: 64 })
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ name: string; fence: number; node: string }>`SELECT name, fence, node FROM oracle`
      const rejected = yield* sql<{ name: string; fence: number; node: string; newer: number }>`SELECT * FROM rejected`
      return { ids, counts, victim, first, second, rows, rejected }
    }).pipe(Effect.provide(context))
  })

/** What the scenario must show on every store. */
export const expectGrainsBack = (result: Effect.Effect.Success<ReturnType<typeof killUnderGrains>>) => {
  const { ids, counts, victim, first, second, rows, rejected } = result
  // Activated across all three nodes.
  expect(counts.size).toBe(3)
  second.forEach((answer, i) => {
    expect(answer.node).not.toBe(victim)
    // The dead node's grains came back under a larger fence; the others stayed where they were, untouched.
    if (first[i]!.node === victim) expect(answer.fence).toBeGreaterThan(first[i]!.fence)
    else expect(answer).toEqual(first[i])
  })
  // No write under a fence older than one accepted before: never two live activations of an id.
  expect(rejected).toEqual([])
  const byName = new Map(rows.map((row) => [row.name, row]))
  ids.forEach((id, i) => expect(byName.get(grainName(id))).toEqual({ name: grainName(id), ...second[i]! }))
}
