/**
 * The dispatcher runs actors on a small, elastic pool of worker fibers.
 *
 * An idle actor holds no fiber. When a message reaches an idle actor its cell
 * is put on the ready queue and a parked worker is woken (resuming a parked
 * fiber is far cheaper than forking one). A worker drains one cell at a time,
 * in batches, then takes the next ready cell or parks.
 *
 * A handler may suspend for a long time (a sleep, an HTTP call): its worker is
 * then blocked on that actor only. To keep other actors moving, whenever a
 * worker leaves cells waiting on the ready queue it queues a check: the check
 * runs after the worker has suspended or yielded, and if cells still wait with
 * no worker on its way, it wakes or forks another. Forks therefore happen only
 * when every worker is busy, and the pool shrinks back to `maxParked`.
 *
 * Nothing here runs a handler inside the caller of `schedule`: wakes go
 * through the Effect scheduler and forks happen in a microtask.
 *
 * @internal
 */
import { Effect, type Fiber, FiberRef, Runtime } from "effect"
import { Ring } from "./ring.js"

/** @internal */
export interface Runnable {
  /** Drains some messages; the dispatcher calls it from a worker fiber. */
  run(worker: Worker): Effect.Effect<void>
  /** The context the handlers need (the services given at spawn). */
  readonly context: import("effect").Context.Context<never>
}

/** The runnable being drained by a fiber; `undefined` outside actors. */
export const currentRunnable = FiberRef.unsafeMake<Runnable | undefined>(undefined)

/**
 * The runnable whose code runs right now in another's stack, synchronously
 * (a plain sync `postStop` run inline by its stopper): it, not the fiber's
 * `currentRunnable`, is the sender of what that code sends. Set and reset
 * around one synchronous call, so nothing can interleave.
 */
export const inlineRunnable: { current: Runnable | undefined } = { current: undefined }

/** @internal */
export class Worker {
  fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  current: Runnable | undefined = undefined
  /** The runnable whose context and identity the fiber's refs hold now. */
  last: Runnable | undefined = undefined
  /**
   * Whose log annotations (actor, message tag) the fiber carries now. They
   * are set lazily, when a handler's Effect goes through the runtime: a
   * plain sync handler cannot log, so actors served on the fast path never
   * pay for them.
   */
  annotatedFor: Runnable | undefined = undefined
  lastTag: string | undefined = undefined
  constructor(readonly dispatcher: Dispatcher) {}
}

/** @internal */
export class Dispatcher {
  readonly ready = new Ring<Runnable>(64)
  private readonly parked: Array<(effect: Effect.Effect<void>) => void> = []
  /** Workers woken but not yet running: they will take from `ready`. */
  private waking = 0
  private checkQueued = false
  readonly workers = new Set<Worker>()
  private closed = false

  constructor(
    private readonly runtime: Runtime.Runtime<never>,
    private readonly maxParked: number
  ) {}

  schedule(cell: Runnable): void {
    this.ready.push(cell)
    if (this.waking > 0) return
    const wake = this.parked.pop()
    if (wake !== undefined) {
      this.waking++
      wake(Effect.void)
    } else {
      this.queueCheck()
    }
  }

  /** Interrupts every worker (the system is closing). */
  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      this.parked.length = 0
      const fibers: Array<Fiber.RuntimeFiber<void>> = []
      for (const worker of this.workers) if (worker.fiber !== undefined) fibers.push(worker.fiber)
      this.workers.clear()
      return Effect.forEach(fibers, (fiber) => fiber.interruptAsFork(fiber.id()), { discard: true })
    })
  }

  /** Forgets a worker whose fiber was interrupted while it ran `cell`. */
  lose(worker: Worker): void {
    this.workers.delete(worker)
  }

  private queueCheck(): void {
    if (this.checkQueued || this.closed) return
    this.checkQueued = true
    queueMicrotask(this.check)
  }

  private readonly check = (): void => {
    this.checkQueued = false
    if (this.ready.length === 0 || this.waking > 0 || this.closed) return
    const wake = this.parked.pop()
    if (wake !== undefined) {
      this.waking++
      wake(Effect.void)
    } else {
      this.fork()
    }
  }

  private fork(): void {
    const worker = new Worker(this)
    this.workers.add(worker)
    worker.fiber = Runtime.runFork(this.runtime)(this.loop(worker))
  }

  private loop(worker: Worker): Effect.Effect<void> {
    const next = (): Effect.Effect<void> => {
      const cell = this.ready.shift()
      if (cell === undefined) return this.park(worker, next)
      if (this.ready.length > 0) this.queueCheck()
      worker.current = cell
      const run = cell.run(worker)
      return Effect.flatMap(
        worker.last === cell
          ? run
          : Effect.zipRight(this.enter(worker, cell), run),
        next
      )
    }
    return Effect.suspend(next)
  }

  private enter(worker: Worker, cell: Runnable): Effect.Effect<void> {
    worker.last = cell
    return Effect.zipRight(
      FiberRef.set(FiberRef.currentContext, cell.context),
      FiberRef.set(currentRunnable, cell)
    )
  }

  private park(worker: Worker, next: () => Effect.Effect<void>): Effect.Effect<void> {
    worker.current = undefined
    if (this.closed || this.parked.length >= this.maxParked) {
      this.workers.delete(worker)
      return Effect.void
    }
    return Effect.flatMap(
      Effect.async<void>((resume) => {
        this.parked.push(resume)
      }),
      () => {
        this.waking--
        return next()
      }
    )
  }
}
