/**
 * Counts the Effect work per message, for ours and the obvious Effect actor:
 * interpreter operations (each step of a fiber's run loop), fibers started,
 * and fiber suspensions (each async hop parks a fiber and resumes it later).
 * Timings on a loaded machine are noisy; these counts are not, so they show
 * what a change to the hot path removed.
 *
 *   npx tsx bench/ops.ts [--only tell,ask,fanin]
 *
 * It runs the benchmark's own scenarios under a counting `Supervisor` with
 * the `OpSupervision` runtime flag on (which slows everything down: do not
 * read its timings).
 */
import { Effect, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"
import * as Scenarios from "./scenarios.js"

class Counter extends Supervisor.AbstractSupervisor<void> {
  ops = 0
  fibers = 0
  suspends = 0
  readonly value = Effect.void
  override onStart(): void {
    this.fibers++
  }
  override onEffect(): void {
    this.ops++
  }
  override onSuspend(): void {
    this.suspends++
  }
  reset(): void {
    this.ops = 0
    this.fibers = 0
    this.suspends = 0
  }
}

const counter = new Counter()
Scenarios.setInstrument((program) =>
  program.pipe(
    Effect.supervised(counter),
    Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
  )
)

const args = process.argv.slice(2)
const onlyIndex = args.indexOf("--only")
const only = onlyIndex >= 0 ? (args[onlyIndex + 1] ?? "").split(",") : ["tell", "ask", "fanin"]

const count = async (label: string, messages: number, run: () => Promise<unknown>): Promise<void> => {
  await run() // warm-up, and the first activation
  counter.reset()
  await run()
  const per = (n: number) => (n / messages).toFixed(2).padStart(8)
  console.log(`  ${label.padEnd(14)} ops/msg ${per(counter.ops)}   fibers/msg ${per(counter.fibers)}   suspends/msg ${per(counter.suspends)}`)
}

const main = async (): Promise<void> => {
  console.log("Effect work per message (the sender's loop included; the plain JS actor has none)")
  for (const impl of ["ours", "effect"] as const) {
    if (only.includes("tell")) await count(`tell/${impl}`, 100_000, () => Scenarios.tell(impl, 100_000))
    if (only.includes("ask")) await count(`ask/${impl}`, 10_000, () => Scenarios.ask(impl, 10_000))
    if (only.includes("fanin")) await count(`fanin/${impl}`, 100_000, () => Scenarios.fanIn(impl, 100, 1_000, 100))
  }
}

main().then(() => process.exit(0), (error: unknown) => {
  console.error(error)
  process.exit(1)
})
