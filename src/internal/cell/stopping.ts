/**
 * How an actor stops: a graceful stop (drain, then finalize), a kill, a stop
 * forced after the shutdown timeout, passivation, and the finalization that
 * runs once (children, leftovers, `postStop`, unregistering, `Terminated`,
 * events). Akka calls this part of the cell its death.
 *
 * @internal
 */
import { Duration, Effect, Fiber, Option } from "effect"
import { ActorStopped } from "../../Errors.js"
import * as Events from "../../EventStream.js"
import { Terminated } from "../../Message.js"
import type { Cell } from "../cell.js"
import { currentRunnable, type Runnable } from "../dispatcher.js"
import type { Envelope } from "../envelope.js"
import { notifyWatchers } from "./deathWatch.js"
import {
  Escalation,
  FINALIZING,
  HANDED_OFF,
  isCell,
  KILLED,
  PASSIVATED,
  RestartRequest,
  RUNNING,
  SCHEDULED,
  STARTING,
  STOPPED,
  STOPPING,
  SUSPENDED
} from "./status.js"

/** Marks the cell as stopping; a worker (or the stopper) finalizes it. */
export const requestStop = (cell: Cell, kill: boolean, reason: Events.StopReason, error?: string): void => {
  if (cell.status === STOPPED) return
  if (cell.status === STARTING) {
    // Asked from preStart (`ctx.stop(ctx.self)`): the spawn stops the actor once preStart returns.
    requestStopWhileStarting(cell, reason)
    return
  }
  const x = cell.extras
  if (cell.status < STOPPING) {
    cell.status = STOPPING
    x.stopReason = reason
    x.stopError = error
  }
  if (kill) cell.flags |= KILLED
  if ((cell.flags & SUSPENDED) !== 0) {
    cell.flags = (cell.flags & ~SUSPENDED) | KILLED
  }
  cell.timers.remove(cell)
  if ((cell.flags & (SCHEDULED | FINALIZING)) === 0 && cell.status !== STARTING) {
    cell.flags |= SCHEDULED
    cell.system.dispatcher.schedule(cell)
  }
}

/** Stops and waits, forcing the stop after the shutdown timeout. */
export const stop = (cell: Cell, kill: boolean, reason: Events.StopReason): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    if (cell.status === STOPPED) return Effect.void
    const caller = fiber.getFiberRef(currentRunnable)
    if (caller === cell || (isCell(caller) && caller.descendsFrom(cell))) {
      // Stopping itself or an ancestor from a handler: waiting would wait for itself (children stop first).
      requestStop(cell, kill, reason)
      return Effect.void
    }
    if (cell.status === STARTING) {
      // preStart is running in the spawner's fiber; the spawn finalizes. That fiber is out of our reach, so a
      // preStart that never ends must not hold the stop (or the system's shutdown) beyond the shutdown timeout.
      requestStopWhileStarting(cell, reason)
      return Effect.asVoid(Effect.timeoutOption(Effect.interruptible(awaitStopped(cell)), cell.system.shutdownTimeout))
    }
    if (stopNowIfIdle(cell, reason)) return Effect.void
    requestStop(cell, kill, reason)
    // A kill does not wait for the handler in flight: it interrupts it.
    if (kill) return forceStop(cell)
    // Interruptible so that the timeout can end the wait even inside a finalizer (the scope's shutdown).
    return Effect.interruptible(awaitStopped(cell)).pipe(
      Effect.timeoutOption(cell.system.shutdownTimeout),
      Effect.flatMap((done) => Option.isSome(done) ? Effect.void : forceStop(cell))
    )
  })

/**
 * Stops at once, in the caller, an actor with nothing to drain, no children,
 * no `postStop` and no handler running: no worker and no fiber are needed
 * (closing a system of a million idle actors must not fork a million
 * fibers). Returns false when the full path is needed.
 */
export const stopNowIfIdle = (cell: Cell, reason: Events.StopReason): boolean => {
  if (cell.status !== RUNNING || (cell.flags & (SCHEDULED | SUSPENDED | FINALIZING)) !== 0) return false
  if (cell.def.postStop !== undefined || !cell.isEmpty()) return false
  const x = cell.x
  if (x !== undefined && ((x.children?.size ?? 0) > 0 || (x.pipes?.size ?? 0) > 0 || (x.stash?.length ?? 0) > 0)) {
    return false
  }
  cell.status = STOPPING
  cell.flags |= FINALIZING
  if (x !== undefined) x.stopReason = reason
  completeStop(cell, reason)
  return true
}

const requestStopWhileStarting = (cell: Cell, reason: Events.StopReason): void => {
  const x = cell.extras
  x.stopReason = reason
  cell.flags |= KILLED
}

/** The graceful stop timed out: interrupt the handler and finalize here. */
const forceStop = (cell: Cell): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (cell.status === STOPPED) return Effect.void
    cell.flags |= KILLED
    if ((cell.flags & FINALIZING) !== 0) return awaitStopped(cell)
    const worker = cell.runner
    cell.runner = undefined
    const interrupt = worker?.fiber === undefined
      ? Effect.void
      : Effect.zipRight(
        Effect.sync(() => cell.system.dispatcher.lose(worker)),
        Fiber.interrupt(worker.fiber)
      )
    return Effect.zipRight(
      interrupt,
      Effect.suspend(() => {
        // The interrupted message was not processed: finalize drops it first, as a deadletter.
        const inFlight = cell.current
        cell.current = undefined
        if (inFlight !== undefined && (cell.flags & HANDED_OFF) === 0) (cell.extras.system ??= []).unshift(inFlight)
        cell.flags &= ~HANDED_OFF
        return finalize(cell)
      })
    )
  })

/** Resumes when the cell has stopped. */
export const awaitStopped = (cell: Cell): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (cell.status === STOPPED) return resume(Effect.void)
    const x = cell.extras
    const waiter = () => resume(Effect.void)
    ;(x.stopWaiters ??= []).push(waiter)
    return Effect.sync(() => {
      const waiters = x.stopWaiters
      if (waiters !== undefined) {
        const i = waiters.indexOf(waiter)
        if (i >= 0) waiters.splice(i, 1)
      }
    })
  })

/** Stops every child (all at once, each depth-first) and waits for them. */
export const stopChildren = (cell: Cell, reason: Events.StopReason): Effect.Effect<void> => {
  const children = cell.x?.children
  if (children === undefined || children.size === 0) return Effect.void
  return Effect.forEach([...children.values()], (child) => stop(child, false, reason), {
    concurrency: "unbounded",
    discard: true
  })
}

/** Runs `postStop` (bounded by the shutdown timeout; its failure is logged, never raised). */
export const runPostStop = (cell: Cell): Effect.Effect<void> => {
  const postStop = cell.def.postStop
  if (postStop === undefined) return Effect.void
  return (postStop(cell.ctx() as never) as Effect.Effect<void, unknown>).pipe(
    // finalize may run in the stopper's fiber (kill, a timed-out stop): give postStop the actor's services and identity.
    Effect.provide(cell.context),
    Effect.locally(currentRunnable, cell as Runnable | undefined),
    // Interruptible so that the timeout also bounds a postStop run from a finalizer.
    Effect.interruptible,
    Effect.timeoutFail({
      duration: cell.system.shutdownTimeout,
      onTimeout: () => new Error(`postStop did not finish within ${Duration.format(cell.system.shutdownTimeout)}`)
    }),
    Effect.catchAllCause((cause) =>
      Effect.logWarning("postStop failed; the actor stops all the same", cause).pipe(
        Effect.annotateLogs({ actor: cell.addressString() })
      )
    )
  )
}

/** Runs once: children, leftovers, postStop, unregistering, Terminated, events. */
export const finalize = (cell: Cell): Effect.Effect<void> => {
  if ((cell.flags & FINALIZING) !== 0) return awaitStopped(cell)
  cell.flags |= FINALIZING
  cell.status = STOPPING
  const x = cell.extras
  return cell.withAnnotations(Effect.gen(function*() {
    yield* stopChildren(cell, "ParentStopped")
    if (x.pipes !== undefined) {
      const pipes = [...x.pipes]
      x.pipes = undefined
      yield* Effect.forEach(pipes, Fiber.interrupt, { discard: true })
    }
    dropLeftovers(cell)
    yield* runPostStop(cell)
    completeStop(cell)
  }))
}

/** What is still queued becomes deadletters; asks in it fail with `ActorStopped`. */
const dropLeftovers = (cell: Cell): void => {
  const x = cell.extras
  const reason = "actor stopped before processing it"
  const drop = (envelope: Envelope) => {
    if (envelope.message instanceof Escalation) {
      requestStop(envelope.message.child, true, "ParentStopped")
      return
    }
    if (envelope.message instanceof RestartRequest || envelope.message instanceof Terminated) {
      envelope.ask?.fail(new ActorStopped({ address: cell.addressString(), messageTag: "Restart" }))
      return
    }
    cell.deadletter(envelope.message, envelope.sender, reason)
    envelope.ask?.fail(new ActorStopped({ address: cell.addressString(), messageTag: envelope.message._tag }))
  }
  if (x.system !== undefined) x.system.splice(0).forEach(drop)
  if (x.unstashed !== undefined) x.unstashed.splice(0).forEach(drop)
  if (cell.mailbox !== undefined) {
    let envelope: Envelope | undefined
    while ((envelope = cell.mailbox.poll()) !== undefined) drop(envelope)
  }
  if (x.stash !== undefined) x.stash.splice(0).forEach(drop)
}

const completeStop = (cell: Cell, reason?: Events.StopReason): void => {
  cell.status = STOPPED
  cell.flags &= ~SCHEDULED
  cell.runner = undefined
  cell.timers.remove(cell)
  cell.system.unregister(cell)
  const x = cell.x
  const stopReason = x?.stopReason ?? reason ?? "Stopped"
  cell.system.remote?.stopped(cell, stopReason)
  const passivated = (cell.flags & PASSIVATED) !== 0
  if (cell.system.bus.wants(passivated ? "ActorPassivated" : "ActorStopped")) {
    const address = cell.address
    cell.publish(
      passivated
        ? new Events.ActorPassivated({ address })
        : new Events.ActorStopped({
          address,
          reason: stopReason,
          ...(x?.stopError === undefined ? {} : { error: x.stopError })
        })
    )
  }
  if (x === undefined) return
  notifyWatchers(cell, stopReason)
  const waiters = x.stopWaiters
  x.stopWaiters = undefined
  x.loop = undefined
  x.ctx = undefined
  if (waiters !== undefined) for (const waiter of waiters) waiter()
}

/** Passivation: the idle deadline passed. */
export const passivate = (cell: Cell): void => {
  // Busy, or suspended waiting for its parent's decision: not idle.
  if (cell.status !== RUNNING || (cell.flags & (SCHEDULED | SUSPENDED)) !== 0) return
  cell.flags |= PASSIVATED
  requestStop(cell, false, "Stopped")
}
