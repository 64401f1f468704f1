import { Effect } from "effect"
import { sqliteStore } from "./stores.js"
import { storeConformance } from "./storeConformance.js"

storeConformance("sqlite", {
  make: sqliteStore,
  live: true,
  advance: (ms) => Effect.sleep(ms),
  runs: 25
})
