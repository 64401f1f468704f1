/**
 * How an actor stops: a graceful stop (drain, then finalize), a kill, a stop
 * forced after the shutdown timeout, passivation, and the finalization that
 * runs once (children, leftovers, `postStop`, unregistering, `Terminated`,
 * events). Akka calls this part of the cell its death.
 *
 * An idle actor is finalized right in its stopper's stack, children first,
 * and a `postStop` whose Effect is a plain success or sync thunk runs inline
 * (see `effectInternals.ts`): closing a system of many idle actors forks no fiber
 * and arms no timer per actor. Anything else (a busy actor, a mailbox to
 * drain, a `postStop` that suspends) takes the Effect path, each wait
 * bounded by the system's `shutdownTimeout`; an actor that still has not
 * stopped by then (an uninterruptible handler or `postStop`) is abandoned.
 *
 * @internal
 */
import { Cause, Duration, Effect, Fiber, Option } from "effect"
import { ActorStopped } from "../../Errors.js"
import * as Events from "../../EventStream.js"
import { Terminated } from "../../Message.js"
import type { Cell } from "../cell.js"
import { currentRunnable, inlineRunnable, type Runnable } from "../dispatcher.js"
import type { Envelope } from "../envelope.js"
import { MISS, runIfSync } from "../effectInternals.js"
import { notifyWatchers } from "./deathWatch.js"
import * as Status from "./status.js"

/** What is left to do: an Effect to run, or `undefined` when all is done. */
type Rest = Effect.Effect<void> | undefined

/** Marks the cell as stopping; a worker (or the stopper) finalizes it. */
export const requestStop = (cell: Cell, kill: boolean, reason: Events.StopReason, error?: string): void => {
  if (cell.status === Status.STOPPED) return
  if (cell.status === Status.STARTING) {
    // Asked from preStart (`ctx.stop(ctx.self)`): the spawn stops the actor once preStart returns.
    requestStopWhileStarting(cell, reason)
    return
  }
  const x = cell.extras
  if (cell.status < Status.STOPPING) {
    cell.status = Status.STOPPING
    x.stopReason = reason
    x.stopError = error
  }
  if (kill) cell.flags |= Status.KILLED
  if ((cell.flags & Status.SUSPENDED) !== 0) {
    cell.flags = (cell.flags & ~Status.SUSPENDED) | Status.KILLED
  }
  cell.timers.remove(cell)
  if ((cell.flags & (Status.SCHEDULED | Status.FINALIZING)) === 0 && cell.status !== Status.STARTING) {
    cell.flags |= Status.SCHEDULED
    cell.system.dispatcher.schedule(cell)
  }
}

/** Stops and waits (see `stopFromOutside`); from the actor itself or a descendant, only asks. */
export const stop = (cell: Cell, kill: boolean, reason: Events.StopReason): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    if (cell.status === Status.STOPPED) return Effect.void
    const caller = fiber.getFiberRef(currentRunnable)
    if (caller === cell || (Status.isCell(caller) && caller.descendsFrom(cell))) {
      // Stopping itself or an ancestor from a handler: waiting would wait for itself (children stop first).
      requestStop(cell, kill, reason)
      return Effect.void
    }
    return stopFromOutside(cell, kill, reason) ?? Effect.void
  })

/**
 * Stops `cell` for a caller that is neither the actor nor one of its
 * descendants. An idle actor is finalized right here, synchronously as far
 * as it goes; a busy one drains first (unless killed), bounded by the
 * shutdown timeout, after which its handler is interrupted (`forceStop`).
 * Returns what is left to wait for, or `undefined` when the actor has stopped.
 */
export const stopFromOutside = (cell: Cell, kill: boolean, reason: Events.StopReason): Rest => {
  if (cell.status === Status.STOPPED) return undefined
  if (cell.status === Status.STARTING) {
    // preStart is running in the spawner's fiber; the spawn finalizes. That fiber is out of our reach, so a
    // preStart that never ends must not hold the stop (or the system's shutdown) beyond the shutdown timeout.
    requestStopWhileStarting(cell, reason)
    return Effect.asVoid(Effect.timeoutOption(Effect.interruptible(awaitStopped(cell)), cell.system.shutdownTimeout))
  }
  if (cell.status === Status.RUNNING && (cell.flags & (Status.SCHEDULED | Status.SUSPENDED | Status.FINALIZING)) === 0 && cell.isEmpty()) {
    cell.status = Status.STOPPING
    return finalizeNow(cell, reason)
  }
  const backingOff = (cell.flags & Status.BACKING_OFF) !== 0
  requestStop(cell, kill, reason)
  // A kill does not wait for the handler in flight, and nothing runs during a restart delay: interrupt at once.
  if (kill || backingOff) return forceStop(cell)
  // Interruptible so that the timeout can end the wait even inside a finalizer (the scope's shutdown).
  return Effect.interruptible(awaitStopped(cell)).pipe(
    Effect.timeoutOption(cell.system.shutdownTimeout),
    Effect.flatMap((done) => Option.isSome(done) ? Effect.void : forceStop(cell))
  )
}

const requestStopWhileStarting = (cell: Cell, reason: Events.StopReason): void => {
  const x = cell.extras
  x.stopReason = reason
  cell.flags |= Status.KILLED
}

/**
 * Interrupts the handler in flight and finalizes here. Waits for neither
 * longer than the shutdown timeout: a handler (or a finalization) that is
 * still running by then cannot be interrupted, and the actor is abandoned.
 */
const forceStop = (cell: Cell): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (cell.status === Status.STOPPED) return Effect.void
    cell.flags |= Status.KILLED
    const timeout = cell.system.shutdownTimeout
    if ((cell.flags & Status.FINALIZING) !== 0) return orAbandon(cell, awaitStopped(cell))
    const worker = cell.runner
    cell.runner = undefined
    const fiber = worker?.fiber
    if (worker !== undefined) cell.system.dispatcher.lose(worker)
    const interrupted = fiber === undefined ? Effect.succeed(true) : Effect.suspend(() => {
      fiber.unsafeInterruptAsFork(fiber.id())
      // Interruptible so that the timeout can end the wait even inside a finalizer (the scope's shutdown).
      return Effect.map(Effect.timeoutOption(Effect.interruptible(Fiber.await(fiber)), timeout), Option.isSome)
    })
    return Effect.flatMap(interrupted, (done) => {
      if (!done) {
        abandon(cell, timeout)
        return Effect.void
      }
      // The interrupted message was not processed: finalize drops it first, as a deadletter.
      const inFlight = cell.current
      cell.current = undefined
      if (inFlight !== undefined && (cell.flags & Status.HANDED_OFF) === 0) (cell.extras.system ??= []).unshift(inFlight)
      cell.flags &= ~Status.HANDED_OFF
      return orAbandon(cell, finalize(cell))
    })
  })

/** Runs `wait`, abandoning the actor if it has not stopped within the shutdown timeout. */
const orAbandon = (cell: Cell, wait: Effect.Effect<void>): Effect.Effect<void> => {
  const timeout = cell.system.shutdownTimeout
  return Effect.flatMap(Effect.timeoutOption(Effect.interruptible(wait), timeout), (done) => {
    if (Option.isNone(done)) abandon(cell, timeout)
    return Effect.void
  })
}

/**
 * Gives up on an actor that did not stop in time (its descendants first):
 * it is unregistered, its queued messages become deadletters, its watchers
 * get `Terminated` and `ActorStopped` says `Abandoned`. The Effect still
 * running in it is left to finish, unwatched.
 */
const abandon = (cell: Cell, timeout: Duration.Duration): void => {
  if (cell.status === Status.STOPPED) return
  const children = cell.x?.children
  if (children !== undefined) for (const child of [...children.values()]) abandon(child, timeout)
  const worker = cell.runner
  cell.runner = undefined
  if (worker?.fiber !== undefined) {
    cell.system.dispatcher.lose(worker)
    worker.fiber.unsafeInterruptAsFork(worker.fiber.id())
  }
  cell.flags |= Status.KILLED | Status.FINALIZING
  const x = cell.extras
  x.stopReason = "Abandoned"
  x.stopError = `did not stop within the shutdown timeout (${Duration.format(timeout)})`
  dropLeftovers(cell)
  completeStop(cell)
}

/** Resumes when the cell has stopped. */
export const awaitStopped = (cell: Cell): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (cell.status === Status.STOPPED) return resume(Effect.void)
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
export const stopChildren = (cell: Cell, reason: Events.StopReason): Effect.Effect<void> =>
  Effect.suspend(() => stopChildrenNow(cell, reason) ?? Effect.void)

/** Stops the idle children right here; returns the wait for the others. */
const stopChildrenNow = (cell: Cell, reason: Events.StopReason): Rest => {
  const children = cell.x?.children
  if (children === undefined || children.size === 0) return undefined
  let pending: Array<Effect.Effect<void>> | undefined
  for (const child of [...children.values()]) {
    const rest = stopFromOutside(child, false, reason)
    if (rest !== undefined) (pending ??= []).push(rest)
  }
  return pending === undefined ? undefined : Effect.all(pending, { concurrency: "unbounded", discard: true })
}

/** Runs `postStop` (its failure is logged, never raised; see `postStopNow`). */
export const runPostStop = (cell: Cell): Effect.Effect<void> => Effect.suspend(() => postStopNow(cell) ?? Effect.void)

/**
 * Runs `postStop` inline when its Effect is a plain success or sync thunk
 * (what it sends carries the actor as sender); returns any other Effect,
 * ready to run with the actor's services and identity.
 */
const postStopNow = (cell: Cell): Rest => {
  const postStop = cell.def.postStop
  if (postStop === undefined) return undefined
  const previous = inlineRunnable.current
  inlineRunnable.current = cell
  let effect: Effect.Effect<void, unknown>
  try {
    effect = postStop(cell.ctx() as never) as Effect.Effect<void, unknown>
    if (runIfSync(effect) !== MISS) return undefined
  } catch (defect) {
    return postStopFailed(cell, Cause.die(defect))
  } finally {
    inlineRunnable.current = previous
  }
  const timeout = cell.system.shutdownTimeout
  return effect.pipe(
    // finalize may run in the stopper's fiber (kill, a timed-out stop): give postStop the actor's services and identity.
    Effect.provide(cell.context),
    Effect.locally(currentRunnable, cell as Runnable | undefined),
    // Interruptible so that the timeout also bounds a postStop run from a finalizer; disconnected so that an
    // uninterruptible postStop does not hold the stop beyond the timeout either (it is left to finish alone).
    Effect.interruptible,
    Effect.disconnect,
    Effect.timeoutFail({
      duration: timeout,
      onTimeout: () => new Error(`postStop did not finish within ${Duration.format(timeout)}`)
    }),
    Effect.catchAllCause((cause) => postStopFailed(cell, cause))
  )
}

const postStopFailed = (cell: Cell, cause: Cause.Cause<unknown>): Effect.Effect<void> =>
  Effect.logWarning("postStop failed; the actor stops all the same", cause).pipe(
    Effect.annotateLogs({ actor: cell.addressString() })
  )

/** Runs once: children, pipes, leftovers, postStop, unregistering, Terminated, events. */
export const finalize = (cell: Cell): Effect.Effect<void> =>
  Effect.suspend(() => (cell.flags & Status.FINALIZING) !== 0 ? awaitStopped(cell) : finalizeNow(cell) ?? Effect.void)

/**
 * `finalize`, synchronously as far as it goes; returns what is left, with the
 * actor's log annotations. `reason` is why it stops, unless `requestStop`
 * recorded one.
 */
const finalizeNow = (cell: Cell, reason?: Events.StopReason): Rest => {
  cell.flags |= Status.FINALIZING
  cell.status = Status.STOPPING
  const children = stopChildrenNow(cell, "ParentStopped")
  if (children === undefined) return afterChildren(cell, reason)
  return cell.withAnnotations(Effect.zipRight(children, Effect.suspend(() => afterChildren(cell, reason) ?? Effect.void)))
}

const afterChildren = (cell: Cell, reason: Events.StopReason | undefined): Rest => {
  const pipes = interruptPipes(cell)
  if (pipes === undefined) return afterPipes(cell, reason)
  return cell.withAnnotations(Effect.zipRight(pipes, Effect.suspend(() => afterPipes(cell, reason) ?? Effect.void)))
}

const afterPipes = (cell: Cell, reason: Events.StopReason | undefined): Rest => {
  dropLeftovers(cell)
  const postStop = postStopNow(cell)
  if (postStop === undefined) {
    completeStop(cell, reason)
    return undefined
  }
  return cell.withAnnotations(Effect.zipRight(postStop, Effect.sync(() => completeStop(cell, reason))))
}

/** `pipeTo` fibers die with the actor. */
const interruptPipes = (cell: Cell): Rest => {
  const x = cell.x
  if (x?.pipes === undefined || x.pipes.size === 0) return undefined
  const pipes = [...x.pipes]
  x.pipes = undefined
  return Effect.forEach(pipes, Fiber.interrupt, { discard: true })
}

/** What is still queued becomes deadletters; asks in it fail with `ActorStopped`. */
const dropLeftovers = (cell: Cell): void => {
  const x = cell.x
  const reason = "actor stopped before processing it"
  const drop = (envelope: Envelope) => {
    if (envelope.message instanceof Status.Escalation) {
      requestStop(envelope.message.child, true, "ParentStopped")
      return
    }
    if (envelope.message instanceof Status.RestartRequest || envelope.message instanceof Terminated) {
      envelope.ask?.fail(new ActorStopped({ address: cell.addressString(), messageTag: "Restart" }))
      return
    }
    cell.deadletter(envelope.message, envelope.sender, reason)
    envelope.ask?.fail(new ActorStopped({ address: cell.addressString(), messageTag: envelope.message._tag }))
  }
  if (x?.system !== undefined) x.system.splice(0).forEach(drop)
  if (x?.unstashed !== undefined) x.unstashed.splice(0).forEach(drop)
  if (cell.mailbox !== undefined) {
    let envelope: Envelope | undefined
    while ((envelope = cell.mailbox.poll()) !== undefined) drop(envelope)
  }
  if (x?.stash !== undefined) x.stash.splice(0).forEach(drop)
}

/** The actor has stopped: unregister it, tell its watchers and the event stream, wake whoever waits. */
const completeStop = (cell: Cell, reason?: Events.StopReason): void => {
  if (cell.status === Status.STOPPED) return
  cell.status = Status.STOPPED
  cell.flags &= ~Status.SCHEDULED
  cell.runner = undefined
  cell.timers.remove(cell)
  cell.system.unregister(cell)
  const x = cell.x
  const stopReason = x?.stopReason ?? reason ?? "Stopped"
  cell.system.remote?.stopped(cell, stopReason)
  const passivated = (cell.flags & Status.PASSIVATED) !== 0
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
  // Its children have stopped (see `SystemImpl.unregister`).
  x.children = undefined
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
  if (cell.status !== Status.RUNNING || (cell.flags & (Status.SCHEDULED | Status.SUSPENDED)) !== 0) return
  cell.flags |= Status.PASSIVATED
  requestStop(cell, false, "Stopped")
}
