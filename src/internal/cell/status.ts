/**
 * What every part of the actor cell shares: its status and flags, its
 * resolved options, and the system messages a cell sends itself or its
 * parent. The bottom of the cell: it imports none of the other parts.
 *
 * @internal
 */
import { Cause } from "effect"
import type * as Actor from "../../Actor.js"
import type { MailboxFactory } from "../../Mailbox.js"
import type { Tagged } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import type { Strategy } from "../../Supervisor.js"
import type { Cell } from "../cell.js"

export type AnyDefinition = Actor.Definition<Tagged, unknown, unknown>
export type AnyHandler = (message: Tagged, ctx: unknown) => import("effect").Effect.Effect<unknown, unknown, unknown>
export type AnyBehavior = Readonly<Record<string, AnyHandler | undefined>>
export type AnyPid = Pid.Pid<never>

/** Resolved per-actor settings; actors with defaults share one object. */
export interface CellOptions {
  readonly mailbox: MailboxFactory
  readonly supervisor: Strategy
  readonly passivateMillis: number
  readonly stashCapacity: number
}

// Status: one of these, in this order.
export const STARTING = 0
export const RUNNING = 1
export const STOPPING = 2
export const STOPPED = 3

// Flags: any of these.
/** On the dispatcher's ready queue or being drained by a worker. */
export const SCHEDULED = 1
/** Stop without draining the mailbox. */
export const KILLED = 2
/** Escalated a failure: waits for its parent's decision. */
export const SUSPENDED = 4
/** `finalize` has begun. */
export const FINALIZING = 8
/** The current message was stashed, forwarded or answered by `respond`: no auto-reply. */
export const HANDED_OFF = 16
/** Stopped because it was idle for too long. */
export const PASSIVATED = 32
/** Waiting for its restart delay: a stop interrupts the wait and wins at once. */
export const BACKING_OFF = 64

/** A failure escalated by a child; processed by the parent as its own failure. */
export class Escalation {
  readonly _tag = "$Escalation"
  constructor(readonly child: Cell, readonly cause: Cause.Cause<unknown>) {}
}

/** A restart requested through `pid.restart`, processed in order with system messages. */
export class RestartRequest {
  readonly _tag = "$Restart"
}
export const restartRequest = new RestartRequest()

/** A one-line description of a failure, for events, logs and errors. */
export const squashMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message === "" ? error.name : `${error.name}: ${error.message}`
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return String(error)
}

/** Marks cells, so that the parts can recognise one without importing the class. */
export const CellTypeId: unique symbol = Symbol.for("effect-actors/internal/Cell")

/** Whether `u` is a cell (the runnable a worker drains, a sender). */
export const isCell = (u: unknown): u is Cell =>
  typeof u === "object" && u !== null && (u as { readonly [CellTypeId]?: unknown })[CellTypeId] === CellTypeId
