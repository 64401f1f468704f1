/**
 * Every reliance of effect-actors on the internals of `effect` 3.x, in one
 * place, checked once at load.
 *
 * Four details of the fiber runtime make the hot paths cheap:
 *
 * - **Op codes.** A plain `Effect.sync(f)` is an object whose `_op` is
 *   `"Sync"` and whose `effect_instruction_i0` is `f`. Running `f` directly
 *   (`runIfSync`) lets a worker process a batch of sync handlers in one JS
 *   loop instead of a run-loop turn each; the same runs a sync `postStop`
 *   inline and answers an ask to an idle actor in the asker's stack.
 * - **The runtime reads `_op` per evaluation.** An `Effectable` object whose
 *   `_op` getter says `"Sync"` is run as one sync step (`presentAsSyncStep`):
 *   a tell that cannot fail costs one run-loop turn instead of two.
 * - **The current-fiber slot.** While a fiber runs, effect keeps it in
 *   `globalThis["effect/FiberCurrent"]`: reading it (`currentFiber`) is
 *   cheaper than `Fiber.getCurrentFiber` (an `Option` per call), and that is
 *   on the path of every tell (the sender) and every spawn (the context).
 * - **A fiber's refs are an immutable value.** A fiber keeps its `FiberRefs`
 *   in `_fiberRefs`, and every change to any ref replaces that object (a new
 *   map), never edits it. So one ref's value can be remembered per `FiberRefs`
 *   object (`fiberRefReader`): a sender that tells in a loop looks its
 *   `currentRunnable` up once instead of two map lookups per tell.
 *
 * At load the module checks that `effect` is a version these were built for
 * (3.x, from 3.22) and that each shape is what it expects, by trying it. If
 * anything differs, or `EFFECT_ACTORS_PLAIN_PATH=1` is set in the
 * environment, it takes the plain path instead: `runIfSync` never runs
 * anything, tells are ordinary `Effectable` commits and the current fiber
 * comes from `Fiber.getCurrentFiber`. Slower, never wrong. `status` says
 * which path was taken and why; the test suite runs the core tests both ways
 * (the `plain` project of `vitest.config.ts`).
 *
 * @internal
 */
import { Context, Effect, Effectable, Exit, Fiber, FiberRef, Option } from "effect"
import { createRequire } from "node:module"

/** The `effect` versions these internals were read from: 3.x, from 3.22. */
const builtFor = { major: 3, minor: 22 }

const fiberSlot = "effect/FiberCurrent"

/** Returned by `runIfSync` when the Effect is not one it can run. */
export const MISS: unique symbol = Symbol.for("effect-actors/effectInternals/miss")

interface SyncPrimitive {
  readonly _op: "Sync"
  readonly effect_instruction_i0: () => unknown
}

const isSyncPrimitive = (effect: object): effect is SyncPrimitive =>
  (effect as { readonly _op?: unknown })._op === "Sync" &&
  typeof (effect as { readonly effect_instruction_i0?: unknown }).effect_instruction_i0 === "function"

const slot = (): Fiber.RuntimeFiber<unknown, unknown> | undefined =>
  (globalThis as Record<string, unknown>)[fiberSlot] as Fiber.RuntimeFiber<unknown, unknown> | undefined

/** The fiber's current `FiberRefs` object, read without the side effect of `getFiberRefs` (which sets a ref). */
const refsOf = (fiber: Fiber.RuntimeFiber<unknown, unknown>): unknown => (fiber as unknown as { readonly _fiberRefs?: unknown })._fiberRefs

/** What is not as expected, or undefined when everything is. */
const mismatch = (): string | undefined => {
  const env = typeof process === "undefined" ? undefined : process.env["EFFECT_ACTORS_PLAIN_PATH"]
  if (env !== undefined && env !== "" && env !== "0") return "EFFECT_ACTORS_PLAIN_PATH is set"
  let version: string
  try {
    version = String((createRequire(import.meta.url)("effect/package.json") as { readonly version?: unknown }).version)
  } catch {
    return "the version of effect cannot be read"
  }
  const [major, minor] = version.split(".").map(Number)
  if (major !== builtFor.major || minor === undefined || !(minor >= builtFor.minor)) {
    return `effect ${version} is not a version these internals were read from (${builtFor.major}.x from ${builtFor.major}.${builtFor.minor})`
  }
  try {
    // Op codes: Effect.sync is a Sync primitive holding its thunk; Effect.succeed is an Exit.
    const sync = Effect.sync(() => 42)
    if (!isSyncPrimitive(sync) || sync.effect_instruction_i0() !== 42) return "Effect.sync is not a Sync primitive"
    if (!Exit.isExit(Effect.succeed(1))) return "Effect.succeed is not an Exit"
    // The current-fiber slot holds the running fiber.
    const sameFiber = Effect.runSync(Effect.withFiberRuntime((fiber) => Effect.sync(() => slot() === fiber)))
    if (!sameFiber) return "the current-fiber slot does not hold the running fiber"
    // The runtime takes an Effectable's `_op` as it finds it: a getter saying Sync makes it one sync step.
    let steps = ""
    class Probe extends Effectable.Class<void> {
      commit(): Effect.Effect<void> {
        steps += "commit"
        return Effect.void
      }
    }
    Object.defineProperty(Probe.prototype, "_op", { get: () => "Sync" })
    Object.defineProperty(Probe.prototype, "effect_instruction_i0", {
      value: () => {
        steps += "sync"
      }
    })
    Effect.runSync(new Probe())
    if (steps !== "sync") return `an Effectable's _op is not honoured (ran: ${steps || "nothing"})`
    // A fiber's refs: an object in `_fiberRefs` that setting a ref replaces (and restoring it replaces again).
    const ref = FiberRef.unsafeMake(0)
    interface Seen {
      readonly before: unknown
      readonly during: unknown
      readonly after: unknown
      readonly value: number
      readonly restored: number
    }
    const seen = Effect.runSync(Effect.withFiberRuntime<Seen>((fiber) => {
      const before = refsOf(fiber)
      return Effect.map(
        Effect.locally(Effect.sync(() => ({ during: refsOf(fiber), value: fiber.getFiberRef(ref) })), ref, 1),
        ({ during, value }) => ({ before, during, value, after: refsOf(fiber), restored: fiber.getFiberRef(ref) })
      )
    }))
    if (
      typeof seen.before !== "object" || seen.before === null || seen.during === seen.before ||
      seen.after === seen.during || seen.value !== 1 || seen.restored !== 0
    ) return "a fiber's refs are not an object replaced whenever a ref changes"
  } catch (error) {
    return `a check threw: ${String(error)}`
  }
  return undefined
}

const why = mismatch()

/** Which path this process takes, and why. */
export const status: { readonly fast: boolean; readonly reason: string } = why === undefined
  ? { fast: true, reason: "effect's internals are as expected" }
  : { fast: false, reason: why }

const fast = status.fast

/**
 * The value of `effect` when it is a plain success or a plain sync thunk, or
 * `MISS` (always `MISS` on the plain path). A thunk that throws throws here:
 * the caller turns it into a defect.
 */
export const runIfSync = (effect: Effect.Effect<unknown, unknown, unknown>): unknown => {
  if (!fast) return MISS
  if (isSyncPrimitive(effect)) return effect.effect_instruction_i0()
  if (Exit.isExit(effect)) return Exit.isSuccess(effect) ? effect.value : MISS
  return MISS
}

/** The fiber running now, if any. */
export const currentFiber: () => Fiber.RuntimeFiber<unknown, unknown> | undefined = fast
  ? slot
  : () => Option.getOrUndefined(Fiber.getCurrentFiber())

/**
 * Reads `ref` in the running fiber (`undefined` outside fibers), remembering
 * the last answer with the `FiberRefs` object it came from: while that object
 * is still the fiber's (nothing was set since), the answer still holds.
 */
export const fiberRefReader = <A>(ref: FiberRef.FiberRef<A>): () => A | undefined => {
  if (!fast) return () => currentFiber()?.getFiberRef(ref)
  let lastRefs: unknown = undefined
  let lastValue: A | undefined = undefined
  return () => {
    const fiber = slot()
    if (fiber === undefined) return undefined
    const refs = refsOf(fiber)
    if (refs !== lastRefs) {
      lastValue = fiber.getFiberRef(ref)
      lastRefs = refs
    }
    return lastValue
  }
}

/** The context of the running fiber (empty outside one). */
export const currentContext = (): Context.Context<never> => currentFiber()?.currentContext ?? Context.empty()

/**
 * Makes the instances of an `Effectable.Class` subclass run as one plain
 * sync step (`run`) whenever `canRunSync` says so when the runtime evaluates
 * them, instead of a commit and then its result; otherwise, and always on
 * the plain path, they run their `commit`. The check and the step happen in
 * the same synchronous turn, so nothing can change in between.
 */
export const presentAsSyncStep = <A extends object>(
  prototype: A,
  canRunSync: (self: A) => boolean,
  run: (self: A) => void
): void => {
  if (!fast) return
  Object.defineProperty(prototype, "_op", {
    get(this: A) {
      return canRunSync(this) ? "Sync" : "Commit"
    }
  })
  Object.defineProperty(prototype, "effect_instruction_i0", {
    value(this: A) {
      run(this)
    }
  })
}
