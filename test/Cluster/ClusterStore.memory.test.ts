import { TestClock } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { storeConformance } from "./storeConformance.js"

storeConformance("memory", {
  make: ClusterStore.makeMemory,
  live: false,
  advance: (ms) => TestClock.adjust(ms),
  runs: 50
})

