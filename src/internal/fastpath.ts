/**
 * Running trivially synchronous handler Effects without a trip through the
 * fiber runtime.
 *
 * Most handlers return `Effect.sync(...)`, `Effect.succeed(...)` or
 * `Effect.void` (all of `ctx.update`, `ctx.set`, `ctx.get` are such). Each of
 * them costs a full turn of the fiber's run loop; running their thunk
 * directly lets a worker process a whole batch of messages in one plain JS
 * loop. Anything else (generators, async, failures, services) goes through
 * the runtime as usual, so semantics do not change: a `Sync` primitive has no
 * interruption point, no context and no span of its own.
 *
 * `Success` is recognised with the public `Exit` API. `Sync` is recognised by
 * effect 3.x's op code, the one internal detail we rely on; if a future
 * version renames it, the check fails closed and every handler takes the
 * runtime path (`test/internal/fastpath.test.ts` notices).
 *
 * @internal
 */
import { Exit } from "effect"
import type { Effect, Fiber } from "effect"

/** Returned when the Effect is not one we can run here. */
export const MISS: unique symbol = Symbol.for("effect-actors/fastpath/miss")

interface SyncPrimitive {
  readonly _op: "Sync"
  readonly effect_instruction_i0: () => unknown
}

const isSyncPrimitive = (effect: object): effect is SyncPrimitive =>
  (effect as { readonly _op?: unknown })._op === "Sync" &&
  typeof (effect as { readonly effect_instruction_i0?: unknown }).effect_instruction_i0 === "function"

/**
 * The value of `effect` when it is a plain success or a plain sync thunk, or
 * `MISS`. A thunk that throws throws here: the caller turns it into a defect.
 */
export const runIfSync = (effect: Effect.Effect<unknown, unknown, unknown>): unknown => {
  if (isSyncPrimitive(effect)) return effect.effect_instruction_i0()
  if (Exit.isExit(effect)) return Exit.isSuccess(effect) ? effect.value : MISS
  return MISS
}

/**
 * The fiber running now, read where effect 3.x keeps it while a fiber runs
 * (`Fiber.getCurrentFiber` reads the same slot but allocates an `Option`;
 * this is on the path of every tell).
 */
const currentFiberKey = "effect/FiberCurrent"

export const currentFiber = (): Fiber.RuntimeFiber<unknown, unknown> | undefined =>
  (globalThis as Record<string, unknown>)[currentFiberKey] as Fiber.RuntimeFiber<unknown, unknown> | undefined
