/**
 * `npm run bench`: effect-actors beside the obvious Effect actor and a plain
 * JS actor, in one process, in the same run.
 *
 * For each scenario every implementation is first warmed up (a tenth of the
 * size), then measured for a few rounds in rotating order (so none always
 * runs first or last, after the same garbage); the table shows the median of
 * the rounds, our ratio to each baseline (oriented so higher is better), and
 * the target from the foundation issue with PASS/MISS.
 *
 * Flags:
 *   --json            one JSON object per line on stdout (the table goes to stderr)
 *   --smoke           tiny sizes, one round, no million-actor check (CI: under ~20 s)
 *   --only a,b        only these scenarios: tell, ask, fanin, spawn, stop-poststop, million
 *   --impl a,b        only these implementations: ours, effect, js (for profiling)
 *   --rounds N        measured rounds per scenario (default 5; spawn 3)
 *   --scale F         multiplies every size by F (0.1 for a quick look)
 *
 * The spawn scenario also reports how fast closing the system stops the
 * idle actors ("stop", no target); the million check gives up waiting for
 * that after two minutes (the process exits at the end anyway).
 *
 * Run with `node --expose-gc` (the npm script does) so heap figures are taken
 * after a full collection.
 */
import { execFileSync, spawn } from "node:child_process"
import * as os from "node:os"
import { type AskStats, hasGc, median, setWatchdog } from "./harness.js"
import * as Scenarios from "./scenarios.js"
import type { Impl } from "./scenarios.js"

// ------------------------------------------------------------------ flags

const argv = process.argv.slice(2)
const flag = (name: string): boolean => argv.includes(name)
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i >= 0 ? argv[i + 1] : undefined
}

const allScenarios = ["tell", "ask", "fanin", "spawn", "stop-poststop", "million"] as const
type Scenario = typeof allScenarios[number]
const allImpls: ReadonlyArray<Impl> = ["ours", "effect", "js"]

const json = flag("--json")
/** Set in the child process that runs the million check. */
const inChild = flag("--in-child")
const smoke = flag("--smoke")
const only = option("--only")?.split(",")
for (const name of only ?? []) {
  if (!(allScenarios as ReadonlyArray<string>).includes(name)) {
    console.error(`unknown scenario "${name}"; known: ${allScenarios.join(", ")}`)
    process.exit(2)
  }
}
const implsOption = option("--impl")?.split(",")
for (const name of implsOption ?? []) {
  if (!(allImpls as ReadonlyArray<string>).includes(name)) {
    console.error(`unknown implementation "${name}"; known: ${allImpls.join(", ")}`)
    process.exit(2)
  }
}
const impls = allImpls.filter((impl) => implsOption === undefined || implsOption.includes(impl))
const roundsOption = option("--rounds")
const rounds = roundsOption === undefined ? undefined : Math.max(1, Number(roundsOption))

const selected = (scenario: Scenario): boolean =>
  only === undefined ? !(smoke && scenario === "million") : only.includes(scenario)

const scaleOption = Number(option("--scale") ?? 1)
const scaled = (n: number): number => Math.max(1, Math.round(n * scaleOption))
const sizes = smoke
  ? { tell: 10_000, ask: 1_000, producers: 10, perProducer: 500, batch: 100, spawn: 1_000, stopPostStop: 1_000, million: 0, rounds: 1 }
  : {
    tell: scaled(1_000_000),
    ask: scaled(100_000),
    producers: 100,
    perProducer: scaled(10_000),
    batch: Math.min(100, scaled(10_000)),
    spawn: scaled(100_000),
    stopPostStop: scaled(100_000),
    million: scaled(1_000_000),
    rounds: 5
  }
if (smoke) setWatchdog(15_000)

/** Table output goes to stderr when stdout carries JSON. */
const print = (line: string): void => {
  if (inChild) return
  if (json) console.error(line)
  else console.log(line)
}
const progress = (line: string): void => {
  console.error(line)
}

// ------------------------------------------------------------------- rows

interface Row {
  readonly scenario: string
  readonly impl: Impl
  readonly value: number
  readonly unit: string
  /** Throughput: higher is better. Latency and memory: lower is better. */
  readonly higherIsBetter: boolean
}

const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 1e6) return `${(value / 1e6).toFixed(2)} M`
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)} k`
  if (abs >= 100) return value.toFixed(0)
  return value.toPrecision(3)
}

interface Target {
  readonly text: string
  readonly pass: (ours: Row, ratioToEffect: number | undefined) => boolean
}

const targets: Record<string, Target> = {
  // Issue 8: with a new message per send, against the Effect actor fed plain objects.
  tell: { text: ">= 3x effect", pass: (_, r) => r !== undefined && r >= 3 },
  "ask": { text: ">= 6x effect", pass: (_, r) => r !== undefined && r >= 6 },
  "ask.p99": { text: "<= 1/4 effect's", pass: (_, r) => r !== undefined && r >= 4 },
  fanin: { text: ">= 3x effect", pass: (_, r) => r !== undefined && r >= 3 },
  spawn: { text: ">= 500,000/s", pass: (row) => row.value >= 500_000 },
  memory: { text: "<= 400 B", pass: (row) => row.value <= 400 },
  "stop-poststop": { text: ">= 200,000/s", pass: (row) => row.value >= 200_000 },
  // 400 MB for a million actors (scaled with --scale).
  million: { text: `< ${fmt(400 * sizes.million / 1e6)} MB`, pass: (row) => row.value < 400 * sizes.million / 1e6 }
}

const ratio = (ours: Row, base: Row | undefined): number | undefined => {
  if (base === undefined || !(ours.value > 0) || !(base.value > 0)) return undefined
  return ours.higherIsBetter ? ours.value / base.value : base.value / ours.value
}

const fmtRatio = (value: number | undefined): string => value === undefined ? "" : `${value.toFixed(2)}x`
const pad = (text: string, width: number): string => text.length >= width ? text : text + " ".repeat(width - text.length)
const padLeft = (text: string, width: number): string => text.length >= width ? text : " ".repeat(width - text.length) + text

const allRows: Array<Row> = []
let misses = 0

/** Prints the rows of one scenario as a table and, with --json, one JSON line per row. */
const report = (title: string, rows: ReadonlyArray<Row>): void => {
  allRows.push(...rows)
  print("")
  print(title)
  print(
    `  ${pad("metric", 10)} ${pad("impl", 7)} ${padLeft("value", 10)} ${pad("unit", 9)} ${padLeft("÷effect", 8)} ${padLeft("÷js", 8)}  target`
  )
  for (const row of rows) {
    const effect = rows.find((r) => r.scenario === row.scenario && r.impl === "effect")
    const js = rows.find((r) => r.scenario === row.scenario && r.impl === "js")
    const isOurs = row.impl === "ours"
    const toEffect = isOurs ? ratio(row, effect) : undefined
    const toJs = isOurs ? ratio(row, js) : undefined
    const target = isOurs ? targets[row.scenario] : undefined
    const canJudge = target !== undefined && (toEffect !== undefined || !target.text.includes("effect"))
    const pass = canJudge ? target.pass(row, toEffect) : undefined
    if (pass === false) misses++
    print(
      `  ${pad(row.scenario, 10)} ${pad(row.impl, 7)} ${padLeft(fmt(row.value), 10)} ${pad(row.unit, 9)} ${
        padLeft(fmtRatio(toEffect), 8)
      } ${padLeft(fmtRatio(toJs), 8)}  ${target === undefined ? "" : `${target.text} ${pass === undefined ? "(no baseline)" : pass ? "PASS" : "MISS"}`}`
    )
    if (json) {
      console.log(JSON.stringify({
        scenario: row.scenario,
        impl: row.impl,
        value: row.value,
        unit: row.unit,
        ...(isOurs ? { ratioToEffect: toEffect ?? null, ratioToJs: toJs ?? null } : {}),
        ...(target !== undefined ? { target: target.text, pass: pass ?? null } : {})
      }))
    }
  }
}

// ---------------------------------------------------------------- running

const gc = (): void => {
  if (typeof globalThis.gc === "function") globalThis.gc()
}

/** Warm-up once per implementation, then `count` measured rounds in rotating order. */
const measure = async <A>(
  scenario: string,
  count: number,
  warmUp: (impl: Impl) => Promise<unknown>,
  run: (impl: Impl) => Promise<A>,
  show: (a: A) => string
): Promise<Map<Impl, Array<A>>> => {
  // A smoke run only checks that everything still runs: no warm-up.
  for (const impl of smoke ? [] : impls) {
    gc()
    await warmUp(impl)
  }
  const results = new Map<Impl, Array<A>>(impls.map((impl) => [impl, []]))
  for (let round = 0; round < count; round++) {
    const order = impls.map((_, i) => impls[(i + round) % impls.length] as Impl)
    const line: Array<string> = []
    for (const impl of order) {
      gc()
      const a = await run(impl)
      results.get(impl)?.push(a)
      line.push(`${impl} ${show(a)}`)
    }
    progress(`  ${scenario} round ${round + 1}/${count}: ${line.join(", ")}`)
  }
  return results
}

/** Ours ÷ the Effect baseline in each round (paired, so both saw the same load): the spread behind a median. */
const spread = <A>(results: Map<Impl, Array<A>>, pick: (a: A) => number, higherIsBetter = true): void => {
  const ours = results.get("ours")
  const effect = results.get("effect")
  if (ours === undefined || effect === undefined || ours.length === 0 || effect.length === 0) return
  const ratios = ours.map((a, i) => {
    const b = effect[i]
    return b === undefined ? NaN : higherIsBetter ? pick(a) / pick(b) : pick(b) / pick(a)
  }).filter((r) => Number.isFinite(r)).sort((x, y) => x - y)
  progress(
    `  ours ÷ effect per round: ${ratios.map((r) => r.toFixed(2)).join(" ")} (median of pairs ${median(ratios).toFixed(2)})`
  )
}

const medianOf = <A>(results: Map<Impl, Array<A>>, impl: Impl, pick: (a: A) => number): number =>
  median((results.get(impl) ?? []).map(pick))

const scale = (n: number): number => Math.max(1, Math.round(n / 10))

const runTell = async (): Promise<void> => {
  const n = sizes.tell
  for (const reused of [false, true]) {
    const scenario = reused ? "tell-reused" : "tell"
    const results = await measure(
      scenario,
      rounds ?? sizes.rounds,
      (impl) => Scenarios.tell(impl, scale(n), { reused }),
      (impl) => Scenarios.tell(impl, n, { reused }),
      (v) => `${fmt(v)}/s`
    )
    spread(results, (v) => v)
    report(
      `${scenario}: ${n.toLocaleString("en")} tells from one sender to one actor, ${
        reused ? "one message instance sent again and again" : "a new message per send"
      }`,
      impls.map((impl) => ({
        scenario,
        impl,
        value: medianOf(results, impl, (v) => v),
        unit: "msg/s",
        higherIsBetter: true
      }))
    )
  }
}

const runAsk = async (): Promise<void> => {
  const n = sizes.ask
  const results = await measure(
    "ask",
    rounds ?? sizes.rounds,
    (impl) => Scenarios.ask(impl, scale(n)),
    (impl) => Scenarios.ask(impl, n),
    (s) =>
      `${fmt(s.perSecond)}/s p99 ${s.p99Micros.toFixed(1)} µs p99.9 ${s.p999Micros.toFixed(0)} µs max ${
        s.maxMicros.toFixed(0)
      } µs (${s.overOneMilli} > 1 ms)`
  )
  spread(results, (s) => s.perSecond)
  spread(results, (s) => s.p99Micros, false)
  const rows: Array<Row> = []
  for (const impl of impls) {
    rows.push({ scenario: "ask", impl, value: medianOf(results, impl, (s) => s.perSecond), unit: "ask/s", higherIsBetter: true })
  }
  for (const [metric, pick] of [
    ["ask.mean", (s: AskStats) => s.meanMicros],
    ["ask.p50", (s: AskStats) => s.p50Micros],
    ["ask.p99", (s: AskStats) => s.p99Micros]
  ] as const) {
    for (const impl of impls) rows.push({ scenario: metric, impl, value: medianOf(results, impl, pick), unit: "µs", higherIsBetter: false })
  }
  report(`ask: ${n.toLocaleString("en")} sequential asks from one sender to one actor`, rows)
}

const runFanIn = async (): Promise<void> => {
  const { batch, perProducer, producers } = sizes
  const results = await measure(
    "fanin",
    rounds ?? sizes.rounds,
    (impl) => Scenarios.fanIn(impl, producers, scale(perProducer), Math.min(batch, scale(perProducer))),
    (impl) => Scenarios.fanIn(impl, producers, perProducer, batch),
    (v) => `${fmt(v)}/s`
  )
  spread(results, (v) => v)
  report(
    `fanin: ${producers} producer actors x ${perProducer.toLocaleString("en")} tells each into one sink (driven in batches of ${batch})`,
    impls.map((impl) => ({
      scenario: "fanin",
      impl,
      value: medianOf(results, impl, (v) => v),
      unit: "msg/s",
      higherIsBetter: true
    }))
  )
}

const runSpawn = async (): Promise<void> => {
  const n = sizes.spawn
  const results = await measure(
    "spawn",
    rounds ?? Math.min(3, sizes.rounds),
    (impl) => Scenarios.spawn(impl, scale(n)),
    (impl) => Scenarios.spawn(impl, n),
    (s) => `${fmt(s.perSecond)}/s ${s.bytesPerActor.toFixed(0)} B/actor (stop ${s.stopMillis.toFixed(0)} ms)`
  )
  const rows: Array<Row> = []
  for (const impl of impls) {
    rows.push({ scenario: "spawn", impl, value: medianOf(results, impl, (s) => s.perSecond), unit: "actors/s", higherIsBetter: true })
  }
  for (const impl of impls) {
    rows.push({ scenario: "memory", impl, value: medianOf(results, impl, (s) => s.bytesPerActor), unit: "B/actor", higherIsBetter: false })
  }
  // Not a target of the issue, but a system that takes minutes to close is worth seeing.
  for (const impl of impls) {
    rows.push({ scenario: "stop", impl, value: medianOf(results, impl, (s) => n / (s.stopMillis / 1000)), unit: "actors/s", higherIsBetter: true })
  }
  report(`spawn: ${n.toLocaleString("en")} idle actors (heap after GC${hasGc ? "" : " NOT available: run with --expose-gc"})`, rows)
}

const runStopPostStop = async (): Promise<void> => {
  const n = sizes.stopPostStop
  const results = await measure(
    "stop-poststop",
    rounds ?? Math.min(3, sizes.rounds),
    (impl) => Scenarios.stopPostStop(impl, scale(n)),
    (impl) => Scenarios.stopPostStop(impl, n),
    (v) => `${fmt(v)}/s`
  )
  spread(results, (v) => v)
  report(
    `stop-poststop: ${n.toLocaleString("en")} idle actors with a trivial postStop, stopped (ours: by closing the system)`,
    impls.map((impl) => ({
      scenario: "stop-poststop",
      impl,
      value: medianOf(results, impl, (v) => v),
      unit: "actors/s",
      higherIsBetter: true
    }))
  )
}

/** Closing a system of a million actors may take long: past this, the bench reports it and moves on. */
const millionStopBudgetMillis = 120_000

const millionRow = (heapBytes: number): Row => ({
  scenario: "million",
  impl: "ours",
  value: heapBytes / 1e6,
  unit: "MB",
  higherIsBetter: false
})
const millionTitle = `million: ${sizes.million.toLocaleString("en")} idle actors of ours, all live at once (heap growth after GC)`

/** In the child process: measure, print the row at once (before stopping), then time the stop. */
const runMillionHere = async (): Promise<void> => {
  gc()
  const s = await Scenarios.spawn("ours", sizes.million, {
    stopBudgetMillis: millionStopBudgetMillis,
    onMeasured: (m) => {
      progress(`  million: ${fmt(m.perSecond)} spawns/s, ${m.bytesPerActor.toFixed(0)} B/actor, all live; stopping them`)
      report(millionTitle, [millionRow(m.heapBytes)])
    }
  })
  progress(
    `  million: stopping all ${
      Number.isNaN(s.stopMillis)
        ? `not finished after ${millionStopBudgetMillis / 1000} s (left running; the process exits)`
        : `took ${(s.stopMillis / 1000).toFixed(1)} s`
    }`
  )
}

/**
 * A million actors run in a child process, so that if the system cannot
 * hold them (or cannot close them) the rest of the report survives and says so.
 */
const runMillion = async (): Promise<void> => {
  if (!impls.includes("ours")) return
  const args = [...process.execArgv, process.argv[1] ?? "bench/run.ts", "--only", "million", "--json", "--in-child"]
  const scale = option("--scale")
  if (scale !== undefined) args.push("--scale", scale)
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] })
  let out = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk
  })
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on("close", (code, signal) => resolve([code, signal]))
  )
  const row = out.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as { scenario: string; value: number })
    .find((r) => r.scenario === "million")
  const failed = code !== 0 ? `the child process ${signal === null ? `exited with code ${code}` : `was killed by ${signal}`}` : undefined
  if (row === undefined) {
    misses++
    print("")
    print(millionTitle)
    print(`  no figure: ${failed ?? "no row printed"} before the actors were measured (see its output above)`)
    if (json) console.log(JSON.stringify({ scenario: "million", impl: "ours", value: null, unit: "MB", error: failed ?? "no row" }))
    return
  }
  report(millionTitle, [millionRow(row.value * 1e6)])
  if (failed !== undefined) {
    print(`  measured, but then ${failed} while stopping them (see its output above)`)
    if (json) console.log(JSON.stringify({ scenario: "million.stop", impl: "ours", value: null, unit: "s", error: failed }))
  }
}

const commit = (): string => {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src"], { encoding: "utf8" }).trim() !== ""
    return dirty ? `${hash} (src/ modified)` : hash
  } catch {
    return "unknown"
  }
}

const main = async (): Promise<void> => {
  const started = performance.now()
  print(
    `effect-actors bench${smoke ? " (smoke)" : ""}: node ${process.version}, ${os.cpus().length} cores (${
      os.cpus()[0]?.model ?? "?"
    }), commit ${commit()}, ${new Date().toISOString()}`
  )
  print(`load average before: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} (figures are only comparable within a run)`)
  if (!hasGc) print("warning: global.gc is not available (run with node --expose-gc); heap figures are noisy")
  if (selected("tell")) await runTell()
  if (selected("ask")) await runAsk()
  if (selected("fanin")) await runFanIn()
  if (selected("spawn")) await runSpawn()
  if (selected("stop-poststop")) await runStopPostStop()
  if (selected("million")) await (inChild ? runMillionHere() : runMillion())
  print("")
  print(
    `${misses === 0 ? "all targets met" : `${misses} target(s) missed`}; ${((performance.now() - started) / 1000).toFixed(1)} s; load average after: ${
      os.loadavg().map((l) => l.toFixed(1)).join(" ")
    }`
  )
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
