/**
 * Tracing across nodes (issue 9, item 6): each node exports through its
 * own `@effect/opentelemetry` SDK into an in-memory exporter; a remote tell
 * and a remote ask from node a are spans there, and node b's spans for
 * them are their children (same trace, parent = the sender's span).
 */
import { describe, expect, it } from "@effect/vitest"
import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer } from "effect"
import { ActorSystem, Remoting } from "../../src/index.js"
import { Counter, GetCount, Increment } from "./fixtures.js"

/** A node whose tracer exports into `exporter` (none when undefined). */
const node = (name: string, exporter: InMemorySpanExporter | undefined) =>
  Effect.map(
    Layer.build(
      Remoting.layer({ kinds: [Counter] }).pipe(
        Layer.provideMerge(ActorSystem.layer({ name })),
        Layer.provide(
          exporter === undefined
            ? Layer.empty
            : NodeSdk.layer(() => ({ resource: { serviceName: name }, spanProcessor: new SimpleSpanProcessor(exporter) }))
        )
      )
    ),
    (context) => Context.get(context, Remoting.Remoting)
  )

const named = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = spans.find((s) => s.name === name)
  if (found === undefined) throw new Error(`no span ${name} among ${spans.map((s) => s.name).join(", ")}`)
  return found
}

/** OpenTelemetry's SpanKind numbers. */
const Kind = { SERVER: 1, CLIENT: 2, PRODUCER: 3, CONSUMER: 4 } as const

describe("H6 tracing across nodes", () => {
  it.scopedLive("a remote tell and ask are spans on the sender, parents of the receiver's spans", () =>
    Effect.gen(function*() {
      const exportedA = new InMemorySpanExporter()
      const exportedB = new InMemorySpanExporter()
      const a = yield* node("a", exportedA)
      const b = yield* node("b", exportedB)
      const counter = yield* a.spawn({ host: "127.0.0.1", port: b.port }, Counter, "counter")
      yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* counter.ask(new GetCount())).toBe(1)

      const tell = named(exportedA.getFinishedSpans(), "remote.tell Increment")
      const ask = named(exportedA.getFinishedSpans(), "remote.ask GetCount")
      const receive = named(exportedB.getFinishedSpans(), "remote.receive Increment")
      const handle = named(exportedB.getFinishedSpans(), "remote.handle GetCount")

      expect(tell.kind).toBe(Kind.PRODUCER)
      expect(ask.kind).toBe(Kind.CLIENT)
      expect(receive.kind).toBe(Kind.CONSUMER)
      expect(handle.kind).toBe(Kind.SERVER)
      // Linked across the wire: same trace, and the receiver's parent is the sender's span.
      expect(receive.spanContext().traceId).toBe(tell.spanContext().traceId)
      expect(receive.parentSpanContext?.spanId).toBe(tell.spanContext().spanId)
      expect(handle.spanContext().traceId).toBe(ask.spanContext().traceId)
      expect(handle.parentSpanContext?.spanId).toBe(ask.spanContext().spanId)
      expect(handle.attributes["actor.address"]).toBe("b@counter")
      expect(ask.attributes["message.tag"]).toBe("GetCount")
    }))

  it.scopedLive("a caller's span is the parent of the remote ask; a failed ask ends its spans as errors", () =>
    Effect.gen(function*() {
      const exportedA = new InMemorySpanExporter()
      const exportedB = new InMemorySpanExporter()
      const a = yield* node("a", exportedA)
      const b = yield* node("b", exportedB)
      const nodeB = { host: "127.0.0.1", port: b.port }
      const counter = yield* a.spawn(nodeB, Counter, "counter")
      yield* Effect.withSpan(counter.ask(new GetCount()), "checkout")
      yield* counter.stop
      const failed = yield* Effect.flip(counter.ask(new GetCount()))
      expect(failed._tag).toBe("ActorNotFound")

      const [first, second] = exportedA.getFinishedSpans().filter((s) => s.name === "remote.ask GetCount")
      expect(first?.parentSpanContext?.spanId).toBeDefined()
      // Error status (2) on both sides for the failed one.
      expect(second?.status.code).toBe(2)
      const handled = exportedB.getFinishedSpans().filter((s) => s.name === "remote.handle GetCount")
      expect(handled).toHaveLength(2)
      expect(handled[1]?.status.code).toBe(2)
      expect(handled[1]?.parentSpanContext?.spanId).toBe(second?.spanContext().spanId)
    }))

  it.scopedLive("a node without a tracer takes traced calls from one with a tracer", () =>
    Effect.gen(function*() {
      const exportedA = new InMemorySpanExporter()
      const a = yield* node("a", exportedA)
      const plain = yield* node("plain", undefined)
      const counter = yield* a.spawn({ host: "127.0.0.1", port: plain.port }, Counter, "counter")
      yield* counter.tell(new Increment({ by: 2 }))
      expect(yield* counter.ask(new GetCount())).toBe(2)
      expect(exportedA.getFinishedSpans().map((s) => s.name)).toEqual(
        expect.arrayContaining(["remote.tell Increment", "remote.ask GetCount"])
      )
    }))
})
