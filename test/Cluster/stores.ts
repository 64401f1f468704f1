/** Stores for the cluster tests. */
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"

/** A store in a fresh file, deleted with the scope. */
export const sqliteStore = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "ea-store-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const context = yield* Layer.build(ClusterStore.layerSqlite({ filename: join(dir, "cluster.db") }))
  return yield* Effect.provide(ClusterStore.ClusterStore, context)
})
