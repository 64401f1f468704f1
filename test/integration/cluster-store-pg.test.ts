/**
 * The store conformance suite on PostgreSQL (127.0.0.1:5432, database
 * `test`, trust auth). Each store lives in a schema of its own, dropped with
 * the scope.
 */
import { Effect, Layer } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { storeConformance } from "../Cluster/storeConformance.js"
import { pgAdmin, pgUrl } from "./pg.js"

export const pgStore = Effect.gen(function*() {
  const schema = `ea_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  yield* Effect.acquireRelease(
    pgAdmin(`CREATE SCHEMA ${schema}`),
    () => Effect.orDie(pgAdmin(`DROP SCHEMA ${schema} CASCADE`))
  )
  const context = yield* Layer.build(ClusterStore.layerPg({ url: pgUrl(schema), maxConnections: 8 }))
  return yield* Effect.provide(ClusterStore.ClusterStore, context)
})

storeConformance("postgresql", {
  make: pgStore,
  live: true,
  advance: (ms) => Effect.sleep(ms),
  runs: 15
})
