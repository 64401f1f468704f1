/**
 * Fault handling: a failed batch goes to the actor's supervisor strategy,
 * whose directive resumes, restarts (after the strategy's `Schedule` delay),
 * stops or escalates to the parent. Supervision costs nothing while handlers
 * succeed: the run loop calls in here only on a failure.
 *
 * @internal
 */
import { Cause, Duration, Effect, Exit, Option, Schedule, Schema } from "effect"
import { AskFailed } from "../../Errors.js"
import * as Events from "../../EventStream.js"
import { isRequest } from "../../Message.js"
import type { Cell } from "../cell.js"
import { currentRunnable } from "../dispatcher.js"
import type { AnyBehavior } from "./status.js"
import { BACKING_OFF, Escalation, HANDED_OFF, RUNNING, SCHEDULED, squashMessage, SUSPENDED } from "./status.js"
import { requestStop, runPostStop, stopChildren } from "./stopping.js"

/** A batch failed with `cause` while processing the current message: apply the supervisor's directive. */
export const onFailure = (cell: Cell, cause: Cause.Cause<unknown>): Effect.Effect<void> => {
  const envelope = cell.current
  cell.current = undefined
  const handedOff = (cell.flags & HANDED_OFF) !== 0
  cell.flags &= ~HANDED_OFF
  if (envelope !== undefined) {
    cell.processed++
    const message = envelope.message
    if (envelope.ask !== undefined && !handedOff && isRequest(message)) {
      const failure = Cause.failureOption(cause)
      if (Option.isSome(failure) && Schema.is(Schema.failureSchema(message))(failure.value)) {
        envelope.ask.fail(failure.value)
        return Effect.void
      }
    }
    if (!handedOff) {
      envelope.ask?.fail(
        new AskFailed({ address: cell.addressString(), messageTag: message._tag, reason: squashMessage(cause) })
      )
    }
  }
  const escalated = envelope?.message instanceof Escalation ? envelope.message : undefined
  const error = Cause.squash(cause)
  const directive = cell.options.supervisor.decide(error)
  return Effect.zipRight(
    Effect.logWarning(`actor failed, supervisor says ${directive}`, cause).pipe(
      Effect.annotateLogs({ actor: cell.addressString(), message: envelope?.message._tag ?? "" })
    ),
    Effect.suspend(() => {
      switch (directive) {
        case "Resume": {
          if (escalated !== undefined) resumeAfterEscalation(escalated.child)
          return Effect.void
        }
        case "Restart":
          return restart(cell, cause)
        case "Escalate": {
          if (cell.parent !== undefined && cell.parent.status === RUNNING) {
            cell.flags |= SUSPENDED
            if (escalated !== undefined) cell.extras.escalatedChild = escalated.child
            cell.publish(new Events.ActorSuspended({ address: cell.address, error: squashMessage(cause) }))
            cell.parent.sendSystem(new Escalation(cell, cause), cell.pid)
            return Effect.void
          }
          requestStop(cell, true, "Failed", squashMessage(cause))
          return Effect.void
        }
        case "Stop": {
          requestStop(cell, true, "Failed", squashMessage(cause))
          return Effect.void
        }
      }
    })
  )
}

/** The parent resumed an escalated failure: the suspended cell (and the child it escalated for) go on. */
const resumeAfterEscalation = (cell: Cell): void => {
  if ((cell.flags & SUSPENDED) === 0) return
  cell.flags &= ~SUSPENDED
  const x = cell.extras
  const child = x.escalatedChild
  x.escalatedChild = undefined
  if (child !== undefined) resumeAfterEscalation(child)
  if (!cell.isEmpty() && (cell.flags & SCHEDULED) === 0 && cell.status === RUNNING) {
    cell.flags |= SCHEDULED
    cell.system.dispatcher.schedule(cell)
  } else if (cell.status === RUNNING) {
    cell.armPassivation()
  }
}

/**
 * Restarts in place: stop children, postStop, fresh state, preStart. With a
 * failure `cause`, the restart schedule gives the delay and the budget;
 * without one (`pid.restart`) it restarts at once.
 */
export const restart = (cell: Cell, cause: Cause.Cause<unknown> | undefined): Effect.Effect<void> => {
  const x = cell.extras
  const strategy = cell.options.supervisor
  const budget: Effect.Effect<boolean> = cause === undefined ? Effect.succeed(true) : Effect.gen(function*() {
    const now = cell.timers.now()
    const driver = x.restartDriver ??= yield* Schedule.driver(strategy.restarts)
    if (x.lastFailureAt >= 0 && now - x.lastFailureAt >= Duration.toMillis(strategy.resetAfter)) {
      yield* driver.reset
    }
    x.lastFailureAt = now
    cell.publish(new Events.ActorSuspended({ address: cell.address, error: squashMessage(cause) }))
    // While the delay runs, a stop interrupts it and wins at once (see `stopFromOutside`).
    cell.flags |= BACKING_OFF
    return yield* driver.next(Cause.squash(cause)).pipe(
      Effect.as(true),
      Effect.orElseSucceed(() => false),
      Effect.ensuring(Effect.sync(() => {
        cell.flags &= ~BACKING_OFF
      }))
    )
  })
  return Effect.flatMap(budget, (allowed) => {
    if (!allowed) {
      requestStop(cell, true, "RestartsExhausted", cause === undefined ? undefined : squashMessage(cause))
      return Effect.void
    }
    // Stopped while waiting for the restart delay: the stop wins.
    if (cell.status !== RUNNING) return Effect.void
    return Effect.gen(function*() {
      yield* stopChildren(cell, "ParentStopped")
      yield* runPostStop(cell)
      cell.state = cell.def.initialState()
      cell.behavior = cell.def.receive as unknown as AnyBehavior
      x.stack = undefined
      x.restarts++
      cell.system.restarts++
      const started = yield* Effect.exit(runPreStart(cell))
      if (Exit.isFailure(started)) {
        // A failing preStart goes back to the supervisor and counts against the budget.
        return yield* onFailure(cell, started.cause)
      }
      cell.publish(
        new Events.ActorRestarted({
          address: cell.address,
          restarts: x.restarts,
          ...(cause === undefined ? {} : { error: squashMessage(cause) })
        })
      )
    })
  })
}

/** Runs `preStart` as the actor (its sends carry the actor as sender). */
export const runPreStart = (cell: Cell): Effect.Effect<void, unknown> => {
  const preStart = cell.def.preStart
  if (preStart === undefined) return Effect.void
  return Effect.locally(
    preStart(cell.ctx() as never) as Effect.Effect<void, unknown>,
    currentRunnable,
    cell
  )
}
