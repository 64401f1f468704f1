/**
 * Supervision: what happens when an actor's handler fails.
 *
 * A {@link Strategy} picks a {@link Directive} from the error (typed failures
 * and defects alike) and, for restarts, an Effect `Schedule` gives the delay
 * before each restart and the budget: when the schedule is done the actor
 * stops with reason `RestartsExhausted`. The budget starts afresh after
 * `resetAfter` without failures.
 *
 * The strategy is set system-wide (`ActorSystem.layer({ supervisor })`) and
 * per spawn; a child without its own inherits its parent's.
 *
 * @since 0.1.0
 */
import { Duration, Schedule } from "effect"

/**
 * - `Stop`: stop the actor (the default).
 * - `Resume`: drop the failing message and keep the state.
 * - `Restart`: stop the children, run `postStop`, build fresh state, run `preStart`, keep the mailbox.
 * - `Escalate`: the parent fails with the child's error and its own supervisor decides.
 *
 * @since 0.1.0
 * @category models
 */
export type Directive = "Stop" | "Resume" | "Restart" | "Escalate"

/**
 * How failures of an actor are handled.
 *
 * @since 0.1.0
 * @category models
 */
export interface Strategy {
  readonly _tag: "Strategy"
  /** Chooses the directive from the error (a typed failure, or the defect). */
  readonly decide: (error: unknown) => Directive
  /** Delays between restarts and their budget. */
  readonly restarts: Schedule.Schedule<unknown, unknown>
  /** A quiet period after which the restart budget starts afresh. */
  readonly resetAfter: Duration.Duration
}

/**
 * The default restart schedule: exponential backoff from 100 ms, at most 5
 * restarts. Any `Schedule` works in its place: its delays are the waits
 * before each restart, and when it is done the budget is spent.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Supervisor } from "effect-actors"
 * // The default backoff, but restarts stop once a minute has passed since the first one.
 * const restarts = Supervisor.defaultRestarts.pipe(Schedule.upTo("1 minute"))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const defaultRestarts: Schedule.Schedule<unknown, unknown> = Schedule.exponential("100 millis").pipe(
  Schedule.intersect(Schedule.recurs(5))
)

/**
 * Builds a strategy. `decide` is a directive, `byTag(...)`, or any function
 * of the error (for a defect: the defect itself, e.g. the thrown exception);
 * `restarts` defaults to {@link defaultRestarts}, `resetAfter` to 30 seconds
 * (measured from the last failure).
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Supervisor } from "effect-actors"
 * // At most 3 restarts within 10 seconds, exponential backoff from 100 ms with jitter.
 * const strategy = Supervisor.make({
 *   decide: Supervisor.byTag({ Timeout: "Restart", BadInput: "Resume" }, "Stop"),
 *   restarts: Schedule.exponential("100 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3))),
 *   resetAfter: "10 seconds"
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly decide: Directive | ((error: unknown) => Directive)
  readonly restarts?: Schedule.Schedule<unknown, unknown>
  readonly resetAfter?: Duration.DurationInput
}): Strategy => {
  const decide = options.decide
  return {
    _tag: "Strategy",
    decide: typeof decide === "string" ? () => decide : decide,
    restarts: options.restarts ?? defaultRestarts,
    resetAfter: Duration.decode(options.resetAfter ?? "30 seconds")
  }
}

/**
 * Always stop the failing actor (the default).
 *
 * @example
 * ```ts
 * import { ActorSystem, Supervisor } from "effect-actors"
 * const SystemLive = ActorSystem.layer({ name: "shop", supervisor: Supervisor.stop })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const stop: Strategy = make({ decide: "Stop" })

/**
 * Always drop the failing message and go on with the same state (and the
 * same behaviour).
 *
 * @example
 * ```ts
 * import { Supervisor } from "effect-actors"
 * // const pid = yield* system.spawn(Cache, "cache", { supervisor: Supervisor.resume })
 * const strategy = Supervisor.resume
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const resume: Strategy = make({ decide: "Resume" })

/**
 * Always restart, within the budget of `restarts` (default: 5, exponential
 * backoff from 100 ms).
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Supervisor } from "effect-actors"
 * const threeQuick = Supervisor.restart({ restarts: Schedule.recurs(3), resetAfter: "1 minute" })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const restart = (options?: {
  readonly restarts?: Schedule.Schedule<unknown, unknown>
  readonly resetAfter?: Duration.DurationInput
}): Strategy => make({ ...options, decide: "Restart" })

/**
 * Always hand the failure to the parent: this actor is suspended until the
 * parent's own strategy decides (Resume resumes it, Restart restarts the
 * parent and stops this actor, Stop stops both). A top-level actor has no
 * parent and stops.
 *
 * @example
 * ```ts
 * import { Supervisor } from "effect-actors"
 * // const child = yield* ctx.spawnChild(Worker, "worker", { supervisor: Supervisor.escalate })
 * const strategy = Supervisor.escalate
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const escalate: Strategy = make({ decide: "Escalate" })

/**
 * A decider by the error's `_tag`; errors without a matching tag (and
 * defects) get `orElse`.
 *
 * @example
 * ```ts
 * import { Supervisor } from "effect-actors"
 * const decide = Supervisor.byTag({ NotFound: "Resume", Timeout: "Restart" }, "Stop")
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const byTag = (
  cases: Readonly<Record<string, Directive>>,
  orElse: Directive = "Stop"
): (error: unknown) => Directive =>
(error) => {
  if (typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string") {
    return cases[error._tag] ?? orElse
  }
  return orElse
}
