/**
 * Timed messages: tell an actor a message once after a delay, every interval,
 * or at the times of a cron expression (see `Cron` for the grammar). Each
 * schedule has a reference to cancel, pause or resume it by, and `list` shows
 * the live ones.
 *
 * All waiting goes through Effect's `Clock`, so `TestClock` drives schedules
 * in tests. Delivery is `pid.tell(message)`: any PID works, local or not.
 * A schedule whose target has stopped cancels itself and publishes
 * `EventStream.ScheduleCancelled`; so does one whose target does not speak
 * the message (an untyped PID). The scheduler listens to the system's stop
 * events (only those) to notice stopped targets at once.
 *
 * Timing rules: an interval schedule fires one interval after it starts, then
 * at a fixed rate; beats missed while the process was late or while paused
 * are skipped, not replayed. A resumed interval schedule fires one interval
 * after `resume`, a resumed cron schedule at its next fire time, and a
 * resumed one-shot whose time passed while paused fires at once.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ActorSystem, Scheduler } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const reporter = yield* ActorSystem.spawn(Reporter, "reporter")
 *   yield* Scheduler.scheduleCron(new Report(), reporter, "0 0 9 ? * MON-FRI", { timeZone: "Europe/Paris" })
 *   const tick = yield* Scheduler.schedule(new Tick(), reporter, "10 seconds")
 *   yield* tick.cancel
 * })
 *
 * const SystemLive = ActorSystem.layer({ name: "app" })
 * program.pipe(Effect.provide(Scheduler.layer.pipe(Layer.provideMerge(SystemLive))))
 * ```
 * @since 0.1.0
 */
import { Context, Duration, Effect, Either, FiberMap, Layer, Option, Queue, type Scope } from "effect"
import type { Address } from "./Address.js"
import { ActorSystem } from "./ActorSystem.js"
import * as Cron from "./Cron.js"
import { type ActorStopped, InvalidArgument } from "./Errors.js"
import type { Pid } from "./Pid.js"
import * as internal from "./internal/scheduler.js"
import { implOf } from "./internal/system.js"

/**
 * No live schedule has this reference (it was cancelled, cancelled itself, or
 * finished).
 *
 * @since 0.1.0
 * @category errors
 */
export const ScheduleNotFound: typeof internal.ScheduleNotFound = internal.ScheduleNotFound

/**
 * @since 0.1.0
 * @category errors
 */
export type ScheduleNotFound = internal.ScheduleNotFound

/**
 * A live schedule already has the reference asked for in the options.
 *
 * @since 0.1.0
 * @category errors
 */
export const ReferenceTaken: typeof internal.ReferenceTaken = internal.ReferenceTaken

/**
 * @since 0.1.0
 * @category errors
 */
export type ReferenceTaken = internal.ReferenceTaken

/**
 * Errors every schedule call can fail with: the reference is taken, the
 * target has already stopped, or the delay/interval is out of range.
 *
 * @since 0.1.0
 * @category errors
 */
export type ScheduleError = ReferenceTaken | ActorStopped | InvalidArgument

/**
 * Options of every schedule call.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The schedule's reference (default: a random UUID). Must not be held by a
   * live schedule. In a cluster (a `Uniqueness` in the scheduler's context),
   * a schedule with an explicit reference is cluster-unique: declare it on
   * every node, and it fires once per tick cluster-wide.
   */
  readonly reference?: string
}

/**
 * Options of `scheduleCron`.
 *
 * @since 0.1.0
 * @category models
 */
export interface CronOptions extends Options {
  /** The IANA time zone the expression is read in (default `"UTC"`). */
  readonly timeZone?: string
}

/**
 * What makes a schedule fire.
 *
 * @since 0.1.0
 * @category models
 */
export type Trigger =
  | { readonly _tag: "Once"; readonly delay: Duration.Duration }
  | { readonly _tag: "Interval"; readonly interval: Duration.Duration }
  | { readonly _tag: "Cron"; readonly expression: string; readonly timeZone: string }

/**
 * The handle of a schedule.
 *
 * @example
 * ```ts
 * // const handle = yield* scheduler.schedule(new Tick(), pid, "1 second")
 * // yield* handle.cancel
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Handle {
  /** The schedule's reference, for `cancel`, `pause` and `resume`. */
  readonly reference: string
  /** Cancels the schedule; does nothing if it has already ended. */
  readonly cancel: Effect.Effect<void>
}

/**
 * A live schedule as `list` shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface ScheduleInfo {
  readonly reference: string
  readonly target: Address
  /** The `_tag` of the scheduled message. */
  readonly messageTag: string
  readonly trigger: Trigger
  readonly paused: boolean
  /** When it fires next (`None` while paused). */
  readonly nextFireAt: Option.Option<Date>
  /** How many times the message was delivered so far. */
  readonly fired: number
}

/**
 * What the scheduler offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Tells `message` to `target` once, after `delay` (0 or more). */
  scheduleOnce<M extends { readonly _tag: string }>(
    message: NoInfer<M>,
    target: Pid<M>,
    delay: Duration.DurationInput,
    options?: Options
  ): Effect.Effect<Handle, ScheduleError>
  /** Tells `message` to `target` every `interval` (more than 0), the first time one interval from now. */
  schedule<M extends { readonly _tag: string }>(
    message: NoInfer<M>,
    target: Pid<M>,
    interval: Duration.DurationInput,
    options?: Options
  ): Effect.Effect<Handle, ScheduleError>
  /**
   * Tells `message` to `target` at the times of a cron expression. A bad
   * expression fails with `InvalidCronExpression` (saying where), and so does
   * one that never fires again.
   */
  scheduleCron<M extends { readonly _tag: string }>(
    message: NoInfer<M>,
    target: Pid<M>,
    expression: string,
    options?: CronOptions
  ): Effect.Effect<Handle, ScheduleError | Cron.InvalidCronExpression | Cron.InvalidTimeZone>
  /** Cancels a schedule. */
  cancel(reference: string): Effect.Effect<void, ScheduleNotFound>
  /** Pauses a schedule: it keeps its reference but does not fire until resumed. Pausing twice is harmless. */
  pause(reference: string): Effect.Effect<void, ScheduleNotFound>
  /** Resumes a paused schedule (see the timing rules in the module doc). Resuming a running one is harmless. */
  resume(reference: string): Effect.Effect<void, ScheduleNotFound>
  /** The live schedules, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<ScheduleInfo>>
}

/**
 * When a schedule fires: its first fire time (on start or resume) and the one
 * after a fire due at `due`.
 *
 * @since 0.1.0
 * @category models
 */
export type Timing = internal.Timing

/**
 * What makes one schedule cluster-unique: when this node may run it, and
 * which of its fires this node delivers.
 *
 * @since 0.1.0
 * @category models
 */
export type Guard = internal.Guard

/**
 * Makes schedules with an explicit reference cluster-unique. `Scheduler.make`
 * picks it from its context when there is one: the cluster provides it (see
 * `Singleton.layerSchedules`); without it, references are unique per scheduler
 * only.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Scheduler, Singleton } from "effect-actors"
 * const SchedulerLive = Scheduler.layer.pipe(Layer.provide(Singleton.layerSchedules))
 * ```
 * @since 0.1.0
 * @category tags
 */
export class Uniqueness extends Context.Tag("effect-actors/Scheduler/Uniqueness")<Uniqueness, {
  /** The guard of one schedule; `anchor` is the instant a one-shot fires at, or an interval's start. */
  readonly guard: (reference: string, trigger: Trigger, anchor: number) => Guard
}>() {}

/**
 * The scheduler service.
 *
 * @since 0.1.0
 * @category tags
 */
export class Scheduler extends Context.Tag("effect-actors/Scheduler")<Scheduler, Service>() {}

const decodeDuration = (input: Duration.DurationInput, what: string, positive: boolean) =>
  Effect.suspend(() => {
    const duration = Duration.decodeUnknown(input)
    if (duration._tag === "None") return Effect.fail(new InvalidArgument({ reason: `${what} is not a duration` }))
    const millis = Duration.toMillis(duration.value)
    // Duration clamps a negative number to zero; a negative delay is more likely a bug.
    const negative = (typeof input === "number" || typeof input === "bigint") && input < 0
    if (negative || !Number.isFinite(millis) || (positive && millis === 0)) {
      return Effect.fail(
        new InvalidArgument({ reason: `${what} must be ${positive ? "more than 0" : "0 or more"} and finite` })
      )
    }
    return Effect.succeed(duration.value)
  })

/**
 * Builds a scheduler for the `ActorSystem` of the context; closing the scope
 * cancels every schedule.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorSystem, Scheduler } from "effect-actors"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const scheduler = yield* Scheduler.make
 *   const pid = yield* ActorSystem.spawn(Reporter, "reporter")
 *   yield* scheduler.scheduleOnce(new Report(), pid, "5 minutes")
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<Service, never, ActorSystem | Scope.Scope> = Effect.gen(function*() {
  const system = yield* ActorSystem
  const clock = yield* Effect.clock
  const uniqueness = yield* Effect.serviceOption(Uniqueness)
  /** The guard of a schedule with an explicit reference, in a cluster. */
  const guarded = (options: Options | undefined, trigger: Trigger, anchor: number) =>
    options?.reference === undefined || Option.isNone(uniqueness)
      ? undefined
      : (reference: string) => uniqueness.value.guard(reference, trigger, anchor)
  const fibers = yield* FiberMap.make<string>()
  const runFork = yield* FiberMap.runtime(fibers)<never>()
  const impl = new internal.SchedulerImpl(
    clock,
    (reference, effect) => runFork(reference, effect),
    (event) => implOf(system)?.publish(event),
    (reference) => FiberMap.remove(fibers, reference),
    (target, onTerminated) => implOf(system)?.remote?.watchRemote(target, onTerminated)
  )
  // Only stops: subscribing to everything would make every event of the system paid for.
  const bus = implOf(system)?.bus
  const events = yield* (bus === undefined ? system.subscribe : bus.subscribe(["ActorStopped", "ActorPassivated"]))
  yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(events), (event) => impl.onEvent(event))))
  return {
    scheduleOnce: (message, target, delay, options) =>
      Effect.flatMap(decodeDuration(delay, "the delay", false), (duration) => {
        const trigger: Trigger = { _tag: "Once", delay: duration }
        const at = clock.unsafeCurrentTimeMillis() + Duration.toMillis(duration)
        return impl.add(
          target as Pid<never>,
          message,
          trigger,
          internal.once(at),
          options?.reference,
          guarded(options, trigger, at)
        )
      }),
    schedule: (message, target, interval, options) =>
      Effect.flatMap(decodeDuration(interval, "the interval", true), (duration) => {
        const trigger: Trigger = { _tag: "Interval", interval: duration }
        return impl.add(
          target as Pid<never>,
          message,
          trigger,
          internal.every(Duration.toMillis(duration)),
          options?.reference,
          guarded(options, trigger, clock.unsafeCurrentTimeMillis())
        )
      }),
    scheduleCron: (message, target, expression, options) =>
      Effect.suspend((): Effect.Effect<
        Handle,
        ScheduleError | Cron.InvalidCronExpression | Cron.InvalidTimeZone
      > => {
        const parsed = Cron.parse(expression, options?.timeZone === undefined ? undefined : { timeZone: options.timeZone })
        if (Either.isLeft(parsed)) return Effect.fail(parsed.left)
        const timing = internal.cron(parsed.right)
        const now = clock.unsafeCurrentTimeMillis()
        if (timing.first(now) === undefined) {
          return Effect.fail(
            new Cron.InvalidCronExpression({
              expression,
              reason: `it never fires after ${new Date(now).toISOString()}`,
              offset: 0
            })
          )
        }
        const trigger: Trigger = { _tag: "Cron", expression, timeZone: parsed.right.timeZone }
        return impl.add(target as Pid<never>, message, trigger, timing, options?.reference, guarded(options, trigger, now))
      }),
    cancel: (reference) => impl.cancel(reference),
    pause: (reference) => impl.pause(reference),
    resume: (reference) => impl.resume(reference),
    list: Effect.sync(() => impl.list())
  }
})

/**
 * The scheduler as a layer over the `ActorSystem` layer.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ActorSystem, Scheduler } from "effect-actors"
 * const Live = Scheduler.layer.pipe(Layer.provideMerge(ActorSystem.layer({ name: "app" })))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Scheduler, never, ActorSystem> = Layer.scoped(Scheduler, make)

/**
 * Tells a message once after a delay, with the scheduler of the context.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // const handle = yield* Scheduler.scheduleOnce(new Remind(), pid, "30 minutes")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const scheduleOnce = <M extends { readonly _tag: string }>(
  message: NoInfer<M>,
  target: Pid<M>,
  delay: Duration.DurationInput,
  options?: Options
): Effect.Effect<Handle, ScheduleError, Scheduler> =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.scheduleOnce(message, target, delay, options))

/**
 * Tells a message every interval, with the scheduler of the context.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // const handle = yield* Scheduler.schedule(new Tick(), pid, "1 second")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const schedule = <M extends { readonly _tag: string }>(
  message: NoInfer<M>,
  target: Pid<M>,
  interval: Duration.DurationInput,
  options?: Options
): Effect.Effect<Handle, ScheduleError, Scheduler> =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.schedule(message, target, interval, options))

/**
 * Tells a message at the times of a cron expression, with the scheduler of
 * the context.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // Every weekday at 9:00 in Paris:
 * // yield* Scheduler.scheduleCron(new Report(), pid, "0 0 9 ? * MON-FRI", { timeZone: "Europe/Paris" })
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const scheduleCron = <M extends { readonly _tag: string }>(
  message: NoInfer<M>,
  target: Pid<M>,
  expression: string,
  options?: CronOptions
): Effect.Effect<Handle, ScheduleError | Cron.InvalidCronExpression | Cron.InvalidTimeZone, Scheduler> =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.scheduleCron(message, target, expression, options))

/**
 * Cancels a schedule by reference.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // yield* Scheduler.cancel(handle.reference)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const cancel = (reference: string): Effect.Effect<void, ScheduleNotFound, Scheduler> =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.cancel(reference))

/**
 * Pauses a schedule by reference.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // yield* Scheduler.pause("nightly-report")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const pause = (reference: string): Effect.Effect<void, ScheduleNotFound, Scheduler> =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.pause(reference))

/**
 * Resumes a paused schedule by reference.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // yield* Scheduler.resume("nightly-report")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const resume = (reference: string): Effect.Effect<void, ScheduleNotFound, Scheduler> =>
  Effect.flatMap(Scheduler, (scheduler) => scheduler.resume(reference))

/**
 * The live schedules of the scheduler of the context.
 *
 * @example
 * ```ts
 * import { Scheduler } from "effect-actors"
 * // for (const s of yield* Scheduler.list) console.log(s.reference, s.messageTag, s.nextFireAt)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const list: Effect.Effect<ReadonlyArray<ScheduleInfo>, never, Scheduler> = Effect.flatMap(
  Scheduler,
  (scheduler) => scheduler.list
)
