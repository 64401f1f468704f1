/**
 * Turns the `--json` output of the benchmark into the Markdown table kept in
 * `RESULTS.md`:
 *
 *   npm run bench -- --json > /tmp/bench.jsonl
 *   npx tsx bench/markdown.ts < /tmp/bench.jsonl
 */
import { readFileSync } from "node:fs"

interface Line {
  readonly scenario: string
  readonly impl: string
  readonly value: number
  readonly unit: string
  readonly ratioToEffect?: number | null
  readonly ratioToJs?: number | null
  readonly target?: string
  readonly pass?: boolean | null
}

const fmt = (value: number): string => {
  if (!Number.isFinite(value)) return String(value)
  if (Number.isInteger(value)) return value.toLocaleString("en")
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString("en")
  return value.toPrecision(3)
}
const ratio = (value: number | null | undefined): string => value === undefined || value === null ? "" : `${value.toFixed(2)}×`

/** The fields every row has, or that have their own column. */
const shown = new Set(["scenario", "impl", "value", "unit", "ratioToEffect", "ratioToJs", "target", "pass"])

/** Everything else a row carries (store, ratios to other baselines, CPU per message...), as `key=value`. */
const details = (line: Line): string =>
  Object.entries(line)
    .filter(([key, value]) => !shown.has(key) && value !== undefined && value !== null)
    .map(([key, value]) => `${key}=${typeof value === "number" ? fmt(value) : String(value)}`)
    .join(", ")

const lines = readFileSync(0, "utf8").split("\n").filter((line) => line.trim().startsWith("{")).map((line) => JSON.parse(line) as Line)
console.log("| scenario | impl | value | unit | ours ÷ effect | ours ÷ js | details | target | result |")
console.log("|---|---|---:|---|---:|---:|---|---|---|")
for (const line of lines) {
  const result = line.pass === undefined ? "" : line.pass === null ? "n/a" : line.pass ? "PASS" : "**MISS**"
  console.log(
    `| ${line.scenario} | ${line.impl} | ${fmt(line.value)} | ${line.unit} | ${ratio(line.ratioToEffect)} | ${ratio(line.ratioToJs)} | ${
      details(line)
    } | ${line.target ?? ""} | ${result} |`
  )
}
