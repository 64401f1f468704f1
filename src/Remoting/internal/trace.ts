/**
 * Trace context across the wire.
 *
 * A node (or `RemoteClient`) traces its remote tells and asks only when it
 * was built with a tracer other than Effect's built-in one (an
 * `@effect/opentelemetry` layer, say): the decision is taken once, when the
 * pool is built, so without a tracer the hot path only reads a field that
 * is `undefined`. With one, each remote tell or ask is a span (`producer` /
 * `client`) whose context travels in the frame as a W3C `traceparent`
 * string; the receiving node, if it has a tracer too, opens its span
 * (`consumer` / `server`) as a child of it.
 *
 * @internal
 */
import { type Clock, Effect, Exit, Option, Tracer } from "effect"
import * as Context from "effect/Context"

/** Effect's built-in tracer: the one of the default runtime. */
const nativeTracer: Tracer.Tracer = Effect.runSync(Effect.tracer)

/** The tracer of the current context, or undefined when it is Effect's built-in one (no exporter). */
export const currentTracer: Effect.Effect<Tracer.Tracer | undefined> = Effect.map(
  Effect.tracer,
  (tracer) => tracer === nativeTracer ? undefined : tracer
)

/** A span's context as a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). */
export const traceparent = (span: Tracer.AnySpan): string =>
  `00-${span.traceId}-${span.spanId}-${span.sampled ? "01" : "00"}`

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])$/

/** The remote parent a `traceparent` from the wire names; none when it is not one (it is data from a peer). */
export const parseTraceparent = (text: string): Option.Option<Tracer.AnySpan> => {
  const match = TRACEPARENT.exec(text)
  if (match === null) return Option.none()
  return Option.some(Tracer.externalSpan({ traceId: match[1]!, spanId: match[2]!, sampled: match[3] === "1" }))
}

/** Opens the receiving side's span of a remote call, a child of the sender's span. */
export const receiveSpan = (
  tracer: Tracer.Tracer,
  clock: Clock.Clock,
  name: string,
  parent: string,
  kind: "consumer" | "server",
  attributes: Record<string, string>
): Tracer.Span => {
  const span = tracer.span(name, parseTraceparent(parent), Context.empty(), [], clock.unsafeCurrentTimeNanos(), kind)
  for (const key in attributes) span.attribute(key, attributes[key])
  return span
}

/** Ends a receiving span now, failed or not. */
export const endSpan = (span: Tracer.Span, clock: Clock.Clock, failure?: unknown): void =>
  span.end(clock.unsafeCurrentTimeNanos(), failure === undefined ? Exit.void : Exit.fail(failure))
