/**
 * Three OS processes share one SQLite file and claim the same 600 names at
 * the same time: each name is won exactly once, and the file agrees with
 * what each winner was told.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"

const claimer = fileURLToPath(new URL("./fixtures/claimer.ts", import.meta.url))

interface Claimer {
  readonly go: () => void
  readonly result: Promise<{ readonly epoch: number; readonly claimed: ReadonlyArray<string> }>
}

/** Starts a claimer process; ready once it joined. Killed with the scope. */
const startClaimer = (filename: string, nodeId: string, count: number) =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() =>
        spawn(process.execPath, ["--import", "tsx", claimer, filename, nodeId, String(count)], {
          stdio: ["pipe", "pipe", "inherit"]
        })
      ),
      (child) => Effect.sync(() => child.kill())
    ),
    (child) => {
      const lines = createInterface({ input: child.stdout })
      const ready = new Promise<void>((resolve) => lines.once("line", () => resolve()))
      const result = new Promise<Claimer["result"] extends Promise<infer A> ? A : never>((resolve, reject) => {
        void ready.then(() => lines.once("line", (line) => resolve(JSON.parse(line))))
        child.once("exit", (code) => reject(new Error(`${nodeId} exited with ${code}`)))
      })
      return { ready, claimer: { go: () => child.stdin.write("go\n"), result } satisfies Claimer }
    }
  ).pipe(Effect.tap(({ ready }) => Effect.promise(() => ready)), Effect.map(({ claimer }) => claimer))

describe("ClusterStore on SQLite shared by processes", () => {
  it.scopedLive("three processes racing on 600 names: each name has exactly one winner", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "ea-race-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const filename = join(dir, "cluster.db")
      const count = 600
      const claimers = yield* Effect.forEach(["p1", "p2", "p3"], (id) => startClaimer(filename, id, count), {
        concurrency: "unbounded"
      })
      for (const claimer of claimers) claimer.go()
      const results = yield* Effect.promise(() => Promise.all(claimers.map((claimer) => claimer.result)))
      const won = results.flatMap((result) => result.claimed)
      expect(won.length).toBe(count)
      expect(new Set(won).size).toBe(count)
      // Contention really happened: no process won everything.
      expect(results.filter((result) => result.claimed.length > 0).length).toBeGreaterThan(1)
      const store = yield* Effect.map(
        Layer.build(ClusterStore.layerSqlite({ filename })),
        (context) => Context.get(context, ClusterStore.ClusterStore)
      )
      const rows = yield* store.lookup(Array.from({ length: count }, (_, i) => `n${i}`))
      for (const result of results) {
        for (const name of result.claimed) expect(rows.get(name)?.owner.epoch).toBe(result.epoch)
      }
      expect(Option.getOrThrow(yield* store.view()).members.length).toBe(3)
    }), 60_000)
})
