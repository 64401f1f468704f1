/**
 * Small tools shared by the scenarios: a completion probe counted in the
 * handlers, an Effect loop, heap measurement, a watchdog and statistics.
 * Wall-clock time here (`performance.now`, `setTimeout`) belongs to the
 * benchmark only; the library itself reads time through Effect's Clock.
 */
import { Effect } from "effect"

/**
 * Counts the messages handlers have really processed and resolves `done`
 * when the count reaches the target, so a run ends only when every message
 * has gone through a handler.
 */
export class Probe {
  count = 0
  private target = Infinity
  private resolve: () => void = () => {}
  /** Resolves when `arm`'s target is reached. */
  done: Promise<void> = Promise.resolve()

  /** Resets the count and waits for `target` hits. */
  arm(target: number): Promise<void> {
    this.count = 0
    this.target = target
    this.done = new Promise<void>((resolve) => {
      this.resolve = resolve
    })
    if (target === 0) this.resolve()
    return this.done
  }

  /** Called once per processed message. */
  readonly hit = (): void => {
    if (++this.count === this.target) this.resolve()
  }
}

/** Runs `body` `n` times in sequence (one `Effect.whileLoop`, the cheapest Effect loop). */
export const times = <E, R>(n: number, body: () => Effect.Effect<unknown, E, R>): Effect.Effect<void, E, R> => {
  let i = 0
  return Effect.whileLoop({
    while: () => i++ < n,
    body,
    step: () => {}
  })
}

/** How long a run may take before the benchmark declares a message lost. */
export let watchdogMillis = 120_000

/** Sets the watchdog (smoke runs use a shorter one). */
export const setWatchdog = (millis: number): void => {
  watchdogMillis = millis
}

/** Waits for `promise`, failing loudly (instead of hanging) if it takes longer than the watchdog. */
export const within = <A>(promise: Promise<A>, what: string): Promise<A> => {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not finished after ${watchdogMillis} ms (a message was lost or the run is stuck)`)),
      watchdogMillis
    )
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

/** Lets pending microtasks, timers and fiber starts run. */
export const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0))
}

/** Whether `global.gc` is available (run with `node --expose-gc`). */
export const hasGc = typeof globalThis.gc === "function"

/** Settles, collects garbage twice, and returns the heap in use (bytes). */
export const heapAfterGc = async (): Promise<number> => {
  await settle()
  if (typeof globalThis.gc === "function") {
    globalThis.gc()
    globalThis.gc()
  }
  return process.memoryUsage().heapUsed
}

/** The median of some numbers. */
export const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  const at = (i: number): number => sorted[i] ?? NaN
  return sorted.length % 2 === 1 ? at(mid) : (at(mid - 1) + at(mid)) / 2
}

/** The `p`-th percentile (0–100) of latencies, by nearest rank. */
export const percentile = (sorted: Float64Array, p: number): number => {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] ?? NaN
}

/** Latency statistics of one run of sequential asks, in microseconds. */
export interface AskStats {
  readonly perSecond: number
  readonly meanMicros: number
  readonly p50Micros: number
  readonly p99Micros: number
  /** The slowest asks: the 99.9th percentile and the maximum. */
  readonly p999Micros: number
  readonly maxMicros: number
  /** How many asks took longer than a millisecond. */
  readonly overOneMilli: number
}

/** Summarises per-ask latencies (milliseconds, as `performance.now` gives them) and the total time. */
export const askStats = (latencies: Float64Array, totalMillis: number): AskStats => {
  const sorted = Float64Array.from(latencies).sort()
  let sum = 0
  let overOneMilli = 0
  for (const value of sorted) {
    sum += value
    if (value > 1) overOneMilli++
  }
  return {
    perSecond: latencies.length / (totalMillis / 1000),
    meanMicros: (sum / sorted.length) * 1000,
    p50Micros: percentile(sorted, 50) * 1000,
    p99Micros: percentile(sorted, 99) * 1000,
    p999Micros: percentile(sorted, 99.9) * 1000,
    maxMicros: percentile(sorted, 100) * 1000,
    overOneMilli
  }
}
