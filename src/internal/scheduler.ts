/**
 * The scheduler's machinery: a registry of schedules and one fiber per
 * running schedule, kept in a `FiberMap` keyed by reference (so closing the
 * scheduler's scope interrupts them all). Each fiber computes its next fire
 * time, sleeps on the scheduler's `Clock` until then and tells the target.
 * Stopped targets are noticed two ways: a tell that fails with
 * `ActorStopped`, and the system's `ActorStopped`/`ActorPassivated` events.
 *
 * @internal
 */
import { type Clock, Data, Duration, Effect, type Fiber, Option } from "effect"
import * as Cron from "../Cron.js"
import { ActorStopped } from "../Errors.js"
import * as Events from "../EventStream.js"
import type { Pid } from "../Pid.js"
import type { Handle, ScheduleInfo, Trigger } from "../Scheduler.js"

/** See `Scheduler.ScheduleNotFound`. Defined here so that this module never imports the public one at run time. */
export class ScheduleNotFound extends Data.TaggedError("ScheduleNotFound")<{
  readonly reference: string
}> {}

/** See `Scheduler.ReferenceTaken`. */
export class ReferenceTaken extends Data.TaggedError("ReferenceTaken")<{
  readonly reference: string
}> {}

/** When a schedule fires: the first time (on start or resume) and the one after a fire at `due`. */
export interface Timing {
  first(now: number): number | undefined
  next(due: number, now: number): number | undefined
}

/** A one-shot at a fixed instant; resumed after its instant, it fires at once. */
export const once = (at: number): Timing => ({
  first: (now) => Math.max(at, now),
  next: () => undefined
})

/** Every `millis`, in phase with the start (or the last resume); missed beats are skipped, not replayed. */
export const every = (millis: number): Timing => ({
  first: (now) => now + millis,
  next: (due, now) => due + millis > now ? due + millis : due + (Math.floor((now - due) / millis) + 1) * millis
})

/**
 * Every `millis` in phase with `anchor`, whenever it starts: what a
 * cluster-unique interval follows, so that every owner in turn fires at the
 * same instants.
 */
export const phased = (anchor: number, millis: number): Timing => {
  const after = (t: number) => anchor + (Math.floor((t - anchor) / millis) + 1) * millis
  return { first: after, next: (due, now) => after(Math.max(due, now)) }
}

/** Exactly at `at`, even late (a one-shot handed over keeps its instant, which is its tick). */
export const exactly = (at: number): Timing => ({ first: () => at, next: () => undefined })

/**
 * What makes a schedule cluster-unique: when this node may run it, and which
 * of its fires this node delivers (see `Cluster`'s schedules).
 */
export interface Guard {
  /**
   * Runs `body` with the anchor agreed cluster-wide (the instant a one-shot
   * fires at, or an interval's start; a cron schedule has none to agree on)
   * while this node holds the schedule, interrupting it when the node loses
   * the schedule and running it again when the node gets it back; done when
   * `body` is.
   */
  readonly hold: (body: (anchor: number) => Effect.Effect<void>) => Effect.Effect<void>
  /** Whether this node delivers the fire due at `due`: one node per tick, cluster-wide. */
  readonly deliver: (due: number) => Effect.Effect<boolean>
}

/** The fire times of a cron expression; times missed while late or paused are skipped. */
export const cron = (expression: Cron.Cron): Timing => {
  const after = (t: number) => Option.getOrUndefined(Option.map(Cron.next(expression, t), (date) => date.getTime()))
  return { first: after, next: (due, now) => after(Math.max(due, now)) }
}

type AnyPid = Pid<never>

/** The timing every node follows for a cluster-unique schedule, from the anchor they agreed on. */
const agreed = (entry: Entry, anchor: number): Timing => {
  switch (entry.trigger._tag) {
    case "Once":
      return exactly(anchor)
    case "Interval":
      return phased(anchor, Duration.toMillis(entry.trigger.interval))
    case "Cron":
      return entry.timing
  }
}

class Entry {
  paused = false
  /** The remote watch of the target (remote targets only); undefined when lost, to renew at the next fire. */
  unwatch: (() => void) | undefined = undefined
  nextFireAt: number | undefined = undefined
  fired = 0
  constructor(
    readonly reference: string,
    readonly target: AnyPid,
    readonly message: { readonly _tag: string },
    readonly trigger: Trigger,
    readonly timing: Timing,
    readonly guard: Guard | undefined
  ) {}

  get key(): string {
    return this.target.address.toString()
  }
}

type RunFork = (key: string, effect: Effect.Effect<void>) => Fiber.RuntimeFiber<void>

/** @internal */
export class SchedulerImpl {
  private readonly entries = new Map<string, Entry>()
  private readonly byTarget = new Map<string, Set<Entry>>()

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runFork: RunFork,
    private readonly publish: (event: Events.Event) => void,
    /** Interrupts the schedule's fiber, if it runs. */
    private readonly remove: (reference: string) => Effect.Effect<void>,
    /** Watches a remote target (see `RemoteHooks.watchRemote`); undefined without remoting. */
    private readonly watchRemote: (
      target: AnyPid,
      onTerminated: (reason: string) => void
    ) => (() => void) | undefined = () => undefined
  ) {}

  add(
    target: AnyPid,
    message: { readonly _tag: string },
    trigger: Trigger,
    timing: Timing,
    reference: string | undefined,
    guard?: (reference: string) => Guard
  ): Effect.Effect<Handle, ReferenceTaken | ActorStopped> {
    return Effect.suspend((): Effect.Effect<Handle, ReferenceTaken | ActorStopped> => {
      const ref = reference ?? crypto.randomUUID()
      if (this.entries.has(ref)) return Effect.fail(new ReferenceTaken({ reference: ref }))
      const entry = new Entry(ref, target, message, trigger, timing, guard?.(ref))
      // Registered before the liveness check: a target that stops from now on
      // is caught by its stop event, one that stopped before fails the check.
      this.attach(entry)
      return Effect.flatMap(target.isAlive, (alive) => {
        if (!alive) {
          this.detach(entry)
          return Effect.fail(new ActorStopped({ address: target.address.toString(), messageTag: message._tag }))
        }
        this.watchTarget(entry)
        this.start(entry, timing.first(this.clock.unsafeCurrentTimeMillis()))
        return Effect.succeed<Handle>({
          reference: ref,
          cancel: Effect.suspend(() => this.entries.get(ref) === entry ? this.cancelEntry(entry) : Effect.void)
        })
      })
    })
  }

  cancel(reference: string): Effect.Effect<void, ScheduleNotFound> {
    return Effect.flatMap(this.find(reference), (entry) => this.cancelEntry(entry))
  }

  pause(reference: string): Effect.Effect<void, ScheduleNotFound> {
    return Effect.flatMap(this.find(reference), (entry) => {
      if (entry.paused) return Effect.void
      entry.paused = true
      // Cleared once the fiber is gone: it may have set the next time while firing.
      return Effect.zipRight(this.remove(reference), Effect.sync(() => entry.nextFireAt = undefined))
    })
  }

  resume(reference: string): Effect.Effect<void, ScheduleNotFound> {
    return Effect.flatMap(this.find(reference), (entry) =>
      Effect.sync(() => {
        if (!entry.paused) return
        entry.paused = false
        this.start(entry, entry.timing.first(this.clock.unsafeCurrentTimeMillis()))
      }))
  }

  list(): Array<ScheduleInfo> {
    return Array.from(this.entries.values(), (entry) => ({
      reference: entry.reference,
      target: entry.target.address,
      messageTag: entry.message._tag,
      trigger: entry.trigger,
      paused: entry.paused,
      nextFireAt: entry.nextFireAt === undefined ? Option.none() : Option.some(new Date(entry.nextFireAt)),
      fired: entry.fired
    }))
  }

  /** An actor stopped: cancel the schedules aimed at it (checking the PID, since a new actor may hold the address). */
  onEvent(event: Events.Event): Effect.Effect<void> {
    if (event._tag !== "ActorStopped" && event._tag !== "ActorPassivated") return Effect.void
    const aimed = this.byTarget.get(event.address.toString())
    if (aimed === undefined) return Effect.void
    return Effect.forEach([...aimed], (entry) =>
      Effect.flatMap(entry.target.isAlive, (alive) =>
        alive ? Effect.void : Effect.zipRight(this.remove(entry.reference), Effect.sync(() => this.selfCancel(entry, "TargetStopped")))), { discard: true })
  }

  /**
   * A remote target is watched through remoting: its stop cancels the
   * schedule. A lost node loses the watch: the schedule goes on and the
   * watch is renewed at the next fire that reaches the node.
   */
  private watchTarget(entry: Entry): void {
    entry.unwatch = this.watchRemote(entry.target, (reason) => {
      entry.unwatch = undefined
      if (reason.startsWith("NodeUnreachable")) return
      this.runFork(`${entry.reference}/stopped`, Effect.zipRight(this.remove(entry.reference), Effect.sync(() => this.selfCancel(entry, "TargetStopped"))))
    })
  }

  private find(reference: string): Effect.Effect<Entry, ScheduleNotFound> {
    return Effect.suspend(() => {
      const entry = this.entries.get(reference)
      return entry === undefined ? Effect.fail(new ScheduleNotFound({ reference })) : Effect.succeed(entry)
    })
  }

  private cancelEntry(entry: Entry): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.detach(entry)
      return this.remove(entry.reference)
    })
  }

  private start(entry: Entry, due: number | undefined): void {
    const guard = entry.guard
    this.runFork(
      entry.reference,
      (guard === undefined
        ? this.loop(entry, entry.timing, due)
        : guard.hold((anchor) =>
          Effect.suspend(() => {
            const timing = agreed(entry, anchor)
            return this.loop(entry, timing, timing.first(this.clock.unsafeCurrentTimeMillis()))
          })
        )).pipe(
        Effect.catchAllDefect((defect) =>
          Effect.zipRight(
            Effect.sync(() => this.detach(entry)),
            Effect.logError("schedule stopped by a defect", defect).pipe(
              Effect.annotateLogs({ reference: entry.reference, target: entry.key })
            )
          )
        )
      )
    )
  }

  private loop(entry: Entry, timing: Timing, due: number | undefined): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (due === undefined) {
        // No fire time left: the schedule is done.
        this.detach(entry)
        return Effect.void
      }
      entry.nextFireAt = due
      const wait = due - this.clock.unsafeCurrentTimeMillis()
      const sleep = wait > 0 ? this.clock.sleep(Duration.millis(wait)) : Effect.void
      return Effect.flatMap(Effect.zipRight(sleep, this.fire(entry, due)), (goOn) =>
        goOn ? this.loop(entry, timing, timing.next(due, this.clock.unsafeCurrentTimeMillis())) : Effect.void)
    })
  }

  /** Tells the target (if this node delivers this tick); false when the schedule cancelled itself. */
  private fire(entry: Entry, due: number): Effect.Effect<boolean> {
    const guard = entry.guard
    if (guard === undefined) return this.tell(entry)
    return Effect.flatMap(guard.deliver(due), (mine) => mine ? this.tell(entry) : Effect.succeed(true))
  }

  private tell(entry: Entry): Effect.Effect<boolean> {
    return Effect.match(entry.target.tell(entry.message as never), {
      onSuccess: () => {
        entry.fired++
        if (entry.unwatch === undefined && this.entries.get(entry.reference) === entry) this.watchTarget(entry)
        return true
      },
      onFailure: (error) => {
        switch (error._tag) {
          case "ActorStopped":
            this.selfCancel(entry, "TargetStopped")
            return false
          case "UnknownMessage":
            this.selfCancel(entry, "UnknownMessage")
            return false
          default:
            // A full mailbox (the message became a deadletter) or a transient
            // remote failure: this beat is lost, the schedule goes on.
            return true
        }
      }
    })
  }

  private selfCancel(entry: Entry, reason: Events.ScheduleCancelReason): void {
    if (!this.detach(entry)) return
    this.publish(new Events.ScheduleCancelled({ reference: entry.reference, target: entry.target.address, reason }))
  }

  private attach(entry: Entry): void {
    this.entries.set(entry.reference, entry)
    const key = entry.key
    let aimed = this.byTarget.get(key)
    if (aimed === undefined) this.byTarget.set(key, aimed = new Set())
    aimed.add(entry)
  }

  /** Removes the entry from the registry; false if it was already gone. */
  private detach(entry: Entry): boolean {
    if (this.entries.get(entry.reference) !== entry) return false
    this.entries.delete(entry.reference)
    entry.unwatch?.()
    entry.unwatch = undefined
    entry.nextFireAt = undefined
    const aimed = this.byTarget.get(entry.key)
    aimed?.delete(entry)
    if (aimed?.size === 0) this.byTarget.delete(entry.key)
    return true
  }
}
