/**
 * Cluster directory benchmark (issue 10): how many names one node commits per
 * second through `ClusterStore.claim`, the write every cluster spawn makes
 * before it returns.
 *
 *   node --import tsx bench/claims.ts [--json] [--smoke]
 *
 * - `claims`, store sqlite: one process claiming fresh names in batches (the
 *   cluster layer batches the claims of one tick) and one at a time, beside a
 *   bare better-sqlite3 UPSERT of the same rows in one transaction per batch
 *   (no guards, no Effect) measured in the same run (`ratioToRaw`).
 *   Target ≥ 10,000/s.
 * - `claims`, store pg (127.0.0.1:5432 `test`, skipped when unreachable):
 *   batches of 500 and one at a time, in a schema of its own, dropped after.
 *   Target ≥ 5,000/s batched.
 *
 * Rows: `{ scenario: "claims", impl: "ours" | "raw", value, unit: "claims/s",
 * store, batch, target?, pass? }` (JSON lines on stdout with `--json`, the
 * table on stderr).
 */
import { Context, Effect, Layer } from "effect"
import { createRequire } from "node:module"
import * as os from "node:os"
import { join } from "node:path"
import * as ClusterStore from "../src/Cluster/ClusterStore.js"
import { pgSchema, tempDir } from "./stores.js"

const json = process.argv.includes("--json")
const smoke = process.argv.includes("--smoke")
const rounds = smoke ? 1 : 3

interface Row {
  readonly scenario: "claims"
  readonly impl: "ours" | "raw"
  readonly value: number
  readonly unit: "claims/s"
  readonly store: "sqlite" | "pg"
  readonly batch: number
  readonly ratioToRaw?: number
  readonly target?: string
  readonly pass?: boolean
}

const emit = (row: Row) => {
  const extra = [
    row.ratioToRaw === undefined ? "" : ` ÷raw ${row.ratioToRaw.toFixed(2)}`,
    row.target === undefined ? "" : ` target ${row.target} ${row.pass === true ? "PASS" : "MISS"}`
  ].join("")
  console.error(
    `  claims ${row.store.padEnd(7)} ${row.impl.padEnd(5)} batch ${String(row.batch).padStart(4)} ${
      Math.round(row.value).toLocaleString("en-US").padStart(10)
    } claims/s${extra}`
  )
  if (json) console.log(JSON.stringify(row))
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

let prefix = 0
/** Claims `total` fresh names in batches; claims per second. */
const timeClaims = (store: ClusterStore.Service, lease: ClusterStore.Incarnation, total: number, batch: number) =>
  Effect.gen(function*() {
    const tag = `r${prefix++}-`
    const start = performance.now()
    for (let i = 0; i < total; i += batch) {
      const requests = Array.from({ length: Math.min(batch, total - i) }, (_, k) => ({
        name: `${tag}${i + k}`,
        kind: "Counter"
      }))
      const results = yield* store.claim(lease, requests)
      if (results.some((r) => r._tag !== "Claimed")) return yield* Effect.die(new Error("a fresh name was not claimed"))
    }
    return total / ((performance.now() - start) / 1000)
  })

const measure = (
  store: ClusterStore.Service,
  storeName: "sqlite" | "pg",
  cases: ReadonlyArray<{ readonly batch: number; readonly total: number; readonly target?: number }>,
  raw?: (total: number, batch: number) => number
) =>
  Effect.gen(function*() {
    const lease = yield* store.join({ nodeId: "bench", address: "", kinds: ["Counter"], roles: [], ttlMillis: 600_000 })
    for (const { batch, target, total } of cases) {
      yield* timeClaims(store, lease, Math.ceil(total / 10), batch) // warm-up
      const ours: Array<number> = []
      const bare: Array<number> = []
      for (let r = 0; r < rounds; r++) {
        ours.push(yield* timeClaims(store, lease, total, batch))
        if (raw !== undefined) bare.push(raw(total, batch))
      }
      const value = median(ours)
      const rawValue = raw === undefined ? undefined : median(bare)
      emit({
        scenario: "claims",
        impl: "ours",
        value,
        unit: "claims/s",
        store: storeName,
        batch,
        ...(rawValue === undefined ? {} : { ratioToRaw: value / rawValue }),
        ...(target === undefined ? {} : { target: `>= ${target.toLocaleString("en-US")}/s`, pass: value >= target })
      })
      if (rawValue !== undefined) {
        emit({ scenario: "claims", impl: "raw", value: rawValue, unit: "claims/s", store: storeName, batch })
      }
    }
  })

/** The part of better-sqlite3 the baseline uses (the package ships no types). */
interface BareDatabase {
  pragma(source: string): unknown
  exec(source: string): void
  prepare(source: string): { run(...params: ReadonlyArray<unknown>): unknown }
  transaction(body: () => void): () => void
}
const Sqlite = createRequire(import.meta.url)("better-sqlite3") as new(filename: string) => BareDatabase

/** The bare baseline: better-sqlite3 UPSERTs of the same rows, one transaction per batch, no guards. */
const rawSqlite = (filename: string) => {
  const db = new Sqlite(filename)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  db.exec("CREATE TABLE IF NOT EXISTS raw_actors (name text PRIMARY KEY, kind text NOT NULL, fence integer NOT NULL)")
  const upsert = db.prepare(
    "INSERT INTO raw_actors (name, kind, fence) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET fence = excluded.fence"
  )
  let fence = 0
  let round = 0
  return (total: number, batch: number): number => {
    const tag = `raw${round++}-`
    const start = performance.now()
    for (let i = 0; i < total; i += batch) {
      const n = Math.min(batch, total - i)
      db.transaction(() => {
        for (let k = 0; k < n; k++) upsert.run(`${tag}${i + k}`, "Counter", ++fence)
      })()
    }
    return total / ((performance.now() - start) / 1000)
  }
}

const sqliteBench = Effect.gen(function*() {
  const dir = yield* tempDir("ea-bench-claims-")
  const context = yield* Layer.build(ClusterStore.layerSqlite({ filename: join(dir, "cluster.db") }))
  const raw = rawSqlite(join(dir, "raw.db"))
  yield* measure(Context.get(context, ClusterStore.ClusterStore), "sqlite", [
    { batch: 100, total: smoke ? 2_000 : 50_000, target: 10_000 },
    { batch: 1, total: smoke ? 500 : 10_000 }
  ], raw)
}).pipe(Effect.scoped)

const pgBench = Effect.gen(function*() {
  const url = yield* pgSchema("ea_bench")
  const context = yield* Layer.build(
    ClusterStore.layerPg({ url })
  )
  yield* measure(Context.get(context, ClusterStore.ClusterStore), "pg", [
    { batch: 500, total: smoke ? 2_000 : 50_000, target: 5_000 },
    { batch: 1, total: smoke ? 200 : 2_000 }
  ])
}).pipe(Effect.scoped)

const load = os.loadavg().map((l) => l.toFixed(1)).join(" / ")
console.error(`claims (load average ${load}, ${rounds} round(s), medians)`)
Effect.runPromise(
  Effect.zipRight(
    sqliteBench,
    pgBench.pipe(Effect.catchAll((error) => Effect.sync(() => console.error(`  claims pg skipped: ${String(error)}`))))
  )
).then(
  () => process.exit(0),
  (error) => {
    console.error(error)
    process.exit(1)
  }
)
