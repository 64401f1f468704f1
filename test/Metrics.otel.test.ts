/**
 * J1 metrics exported through `@effect/opentelemetry`: the system's and
 * actors' metrics (processing time as a histogram, mailbox depth, restarts,
 * deadletters, cluster membership) read back from the OpenTelemetry SDK's
 * in-memory exporter.
 */
import * as OtelMetrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { describe, expect, it } from "@effect/vitest"
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  type MetricData,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import { Effect, Layer } from "effect"
import { ActorSystem, Cluster, ClusterStore, Discovery, Remoting, Supervisor } from "../src/index.js"
import { Add, Fail, Get, makeWorker } from "./support/supervision.js"

const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 })
const Otel = OtelMetrics.layer(() => reader).pipe(Layer.provide(Resource.layer({ serviceName: "effect-actors-test" })))

/** Every exported metric named `name`, its data points for system `system`. */
const points = (name: string, system: string): Array<DataPoint<unknown>> => {
  const metrics: Array<MetricData> = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics))
  return metrics
    .filter((m) => m.descriptor.name === name)
    .flatMap((m) => m.dataPoints as Array<DataPoint<unknown>>)
    .filter((p) => p.attributes["system"] === system)
}
const latest = (name: string, system: string) => points(name, system).at(-1)?.value

describe("J1 metrics through @effect/opentelemetry", () => {
  it.live("exports processing time, mailbox depth, restarts, deadletters and cluster membership", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.ActorSystem
      const name = system.name
      const log: Array<string> = []
      const worker = yield* system.spawn(makeWorker(log, { supervisor: Supervisor.restart() }), "worker")
      for (let i = 0; i < 50; i++) yield* worker.tell(new Add({ n: 1 }))
      yield* worker.tell(new Fail({ how: "A" }))
      yield* worker.tell(new Fail({ how: "die" }))
      expect(yield* worker.ask(new Get())).toBe(0)
      const gone = yield* system.spawn(makeWorker(log), "gone")
      yield* gone.stop
      yield* Effect.ignore(gone.tell(new Add({ n: 1 })))
      yield* system.metrics // exports the counters to Effect's registry (as the interval does)
      yield* Effect.promise(() => reader.forceFlush())

      const histogram = latest("effect_actors_processing_time_ms", name) as Histogram
      expect(histogram.count).toBeGreaterThanOrEqual(51)
      expect(histogram.buckets.boundaries.length).toBeGreaterThan(10)
      expect(latest("effect_actors_restarts_total", name)).toBe(2)
      expect(latest("effect_actors_deadletters", name)).toBe(1)
      expect(latest("effect_actors_mailbox_depth", name)).toBe(0)
      // The worker and the cluster's own actors, as the system counts them ("gone" stopped).
      expect(latest("effect_actors_actors", name)).toBe(yield* system.count)
      expect((yield* system.actors).map((pid) => pid.address.name)).toContain("worker")
      expect(points("effect_actors_cluster_members", name).find((p) => p.attributes["status"] === "up")?.value).toBe(1)
      expect(latest("effect_actors_cluster_active", name)).toBe(1)
    }).pipe(
      Effect.provide(
        Cluster.layer({ nodeId: "otel-node", sameHostProof: false }).pipe(
          Layer.provideMerge(Remoting.layer({})),
          Layer.provideMerge(
            ActorSystem.layer({ name: `otel-${process.pid}`, metrics: { processingTime: true, interval: "1 hour" } })
          ),
          Layer.provide(ClusterStore.layerMemory),
          Layer.provide(Discovery.layerStatic([])),
          Layer.provideMerge(Otel)
        )
      )
    ))
})
