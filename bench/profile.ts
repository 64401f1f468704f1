/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): the functions with
 * the most self time, and self time grouped by file, so a profile can be read
 * without a browser.
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --expose-gc --import tsx bench/run.ts --only tell --impl ours
 *   npx tsx bench/profile.ts /tmp/prof/*.cpuprofile [--top 30] [--inclusive]
 */
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}
interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const topIndex = args.indexOf("--top")
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 30
const files = args.filter((arg, i) => !arg.startsWith("--") && (topIndex < 0 || i !== topIndex + 1))
if (files.length === 0) {
  console.error("usage: tsx bench/profile.ts <file.cpuprofile>... [--top N]")
  process.exit(2)
}

/** Shortens a script URL to `package/file` or a repository-relative path. */
const shortFile = (url: string): string => {
  if (url === "") return "(native)"
  const path = url.replace(/^file:\/\//, "")
  const nm = path.lastIndexOf("node_modules/")
  if (nm >= 0) return path.slice(nm + "node_modules/".length).replace(/\/dist\/(esm|cjs)\//, "/")
  const repo = path.search(/\/(src|bench|test)\//)
  return repo >= 0 ? path.slice(repo + 1) : path
}

const byFunction = new Map<string, number>()
const inclusive = new Map<string, number>()
const byFile = new Map<string, number>()
let total = 0
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const key = (node: ProfileNode): string => {
    const frame = node.callFrame
    return `${frame.functionName === "" ? "(anonymous)" : frame.functionName}  ${shortFile(frame.url)}:${frame.lineNumber + 1}`
  }
  for (let i = 0; i < profile.samples.length; i++) {
    const node = nodes.get(profile.samples[i] ?? -1)
    const delta = profile.timeDeltas[i] ?? 0
    if (node === undefined) continue
    const where = shortFile(node.callFrame.url)
    const name = key(node)
    byFunction.set(name, (byFunction.get(name) ?? 0) + delta)
    // Inclusive time: each function on the sampled stack, counted once per sample.
    const onStack = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = nodes.get(id)
      if (frame !== undefined) onStack.add(key(frame))
    }
    for (const name of onStack) inclusive.set(name, (inclusive.get(name) ?? 0) + delta)
    byFile.set(where, (byFile.get(where) ?? 0) + delta)
    total += delta
  }
}

const show = (title: string, entries: Map<string, number>, count: number): void => {
  console.log(`\n${title}`)
  const sorted = [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)
  for (const [name, micros] of sorted) {
    console.log(`  ${(100 * micros / total).toFixed(1).padStart(5)}%  ${(micros / 1000).toFixed(0).padStart(6)} ms  ${name}`)
  }
}

console.log(`total sampled: ${(total / 1000).toFixed(0)} ms in ${files.length} profile(s)`)
show(`top ${top} functions by self time`, byFunction, top)
show("self time by file", byFile, 20)
if (args.includes("--inclusive")) {
  const ours = new Map([...inclusive].filter(([name]) => /  (src|bench)\//.test(name)))
  show(`top ${top} of our functions (src/, bench/) by inclusive time`, ours, top)
}
