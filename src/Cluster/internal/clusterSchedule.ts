/**
 * Cluster-unique schedules: the `Scheduler.Uniqueness` a cluster gives its
 * schedulers. Every node declares the schedule (same reference, same
 * message, same target by name).
 * - A cron schedule is timed on every node; at each tick, the node whose
 *   `claimTick(reference, tick)` wins delivers, the others skip it.
 * - An interval or one-shot schedule is held like a singleton: the first node
 *   to claim its row writes the anchor (an interval's start, a one-shot's
 *   instant) into it, and whoever adopts the row after that node dies or
 *   leaves keeps the anchor, so the beats stay in phase. Each fire also
 *   claims its tick, so the short overlap of a handover cannot deliver one
 *   beat twice. A one-shot has a single tick per reference: once it fired,
 *   any later holder finds the tick claimed and delivers nothing (until the
 *   store prunes old ticks, after which the reference may be used again).
 *
 * When the store cannot answer a tick, the tick is skipped: a cluster-unique
 * schedule delivers at most once per tick, never twice.
 *
 * @internal
 */
import { Effect, Option, Schema } from "effect"
import type * as Scheduler from "../../Scheduler.js"
import type { Guard } from "../../internal/scheduler.js"
import { hold, type Seat } from "./singletonHold.js"

/** The kind written in a schedule's directory row (no actor runs under it). */
export const scheduleKind = "effect-actors/Schedule"

/** A schedule's row and tick reference: no actor name contains ':', so it never collides with one. */
export const rowName = (reference: string): string => `schedule:${reference}`

const Anchor = Schema.parseJson(Schema.Struct({ anchor: Schema.Number }))
const encodeAnchor = Schema.encodeSync(Anchor)
const decodeAnchor = Schema.decodeUnknownOption(Anchor)
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const anchorOf = (args: Uint8Array | undefined, fallback: number): number =>
  args === undefined
    ? fallback
    : Option.match(decodeAnchor(decoder.decode(args)), { onNone: () => fallback, onSome: (row) => row.anchor })

/** The guard of one schedule on this seat. */
export const guard = (seat: Seat, reference: string, trigger: Scheduler.Trigger, anchor: number): Guard => {
  const name = rowName(reference)
  // A one-shot has one tick whatever instant each node computed for it: the
  // tick of its reference, so that it fires once even if its row (and its
  // instant) were lost with a dead holder and a late node claims it afresh.
  const tickOf = trigger._tag === "Once" ? () => 0 : (due: number) => due
  const deliver = (due: number) =>
    seat.store.claimTick(name, tickOf(due)).pipe(
      Effect.tapError((error) =>
        Effect.logWarning("cluster schedule: tick skipped, the store did not answer").pipe(
          Effect.annotateLogs({ reference, due: new Date(due).toISOString(), reason: error.reason })
        )
      ),
      Effect.orElseSucceed(() => false)
    )
  if (trigger._tag === "Cron") return { hold: (body) => body(anchor), deliver }
  const request = {
    name,
    kind: scheduleKind,
    relocate: false,
    args: encoder.encode(encodeAnchor({ anchor }))
  }
  return {
    hold: (body) => hold(seat, request, () => true, (held) => body(anchorOf(held.args, anchor))),
    deliver
  }
}

/** The uniqueness a seat gives to the schedulers of its node. */
export const uniqueness = (seat: Seat): Scheduler.Uniqueness["Type"] => ({
  guard: (reference, trigger, anchor) => guard(seat, reference, trigger, anchor)
})
