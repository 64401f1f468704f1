/**
 * Fast producer, slow consumer (issue 9, flow control): this process tells
 * a slow actor in another process (about 20 µs per message) as fast as it
 * can for `--seconds` (60), then waits until everything was processed.
 *
 *   node --import tsx bench/remote-flow.ts [--seconds 60] [--json]
 *
 * Reports the receiver's peak heap (asked of the slow actor itself, in the
 * receiving process, every 250 ms) and peak RSS (from /proc, tsx's compiler
 * included), the tells sent and received, and those out of order.
 * Targets: peak heap ≤ 200 MB; received = sent; none out of order.
 */
import { Context, Effect, Fiber, Layer } from "effect"
import { spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { loadavg } from "node:os"
import { createInterface } from "node:readline"
import { ActorSystem, type Pid, Remoting } from "../src/index.js"
import { Seq, SeqReport, SlowSeq } from "./remote-protocol.js"

const json = process.argv.includes("--json")
const at = process.argv.indexOf("--seconds")
const seconds = at >= 0 ? Number(process.argv[at + 1]) : 60

const rssMb = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))
  return Number(line?.replace(/\D+/g, "") ?? 0) / 1024
}

const receiver = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly pid: number; readonly close: () => void }, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/remote-node.ts"], { stdio: ["pipe", "pipe", "inherit"] })
    child.stdin!.write("{}\n")
    createInterface({ input: child.stdout! }).once("line", (line) =>
      resume(Effect.succeed({
        port: (JSON.parse(line) as { node: number }).node,
        pid: child.pid!,
        close: () => child.kill("SIGKILL")
      })))
    child.once("exit", (code) => resume(Effect.fail(new Error(`receiver exited with ${code}`))))
  }),
  ({ close }) => Effect.sync(close)
)

const main = Effect.gen(function*() {
  const { pid, port } = yield* receiver
  const context = yield* Layer.build(
    Remoting.layer({}).pipe(Layer.provideMerge(ActorSystem.layer({ name: "producer", passivateAfter: "never" })))
  )
  const remoting = Context.get(context, Remoting.Remoting)
  const slow: Pid.Pid<Seq | SeqReport> = yield* remoting.spawn({ host: "127.0.0.1", port }, SlowSeq, "slow")
  const rssBefore = rssMb(pid)
  let peak = rssBefore
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(pid))
  }, 100)
  let heapPeak = 0
  const heapSampler = yield* Effect.fork(Effect.forever(Effect.zipRight(
    Effect.map(slow.ask(new SeqReport(), { timeout: "60 seconds" }), (r) => {
      heapPeak = Math.max(heapPeak, r.heapMb)
    }),
    Effect.sleep("250 millis")
  )))
  console.error(`remote-flow: ${seconds} s, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  const end = performance.now() + seconds * 1000
  let sent = 0
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) yield* slow.tell(new Seq({ n: sent++ }))
  }
  const producing = performance.now()
  let report = yield* slow.ask(new SeqReport(), { timeout: "60 seconds" })
  while (report.received < sent) {
    yield* Effect.sleep("100 millis")
    report = yield* slow.ask(new SeqReport(), { timeout: "60 seconds" })
  }
  clearInterval(sampler)
  yield* Fiber.interrupt(heapSampler)
  const drain = (performance.now() - producing) / 1000
  const rows = [
    { scenario: "remote-flow.receiver-heap-peak", impl: "ours", value: heapPeak, unit: "MB", target: "≤ 200 MB", pass: heapPeak <= 200 },
    { scenario: "remote-flow.receiver-rss-peak", impl: "ours", value: peak, unit: "MB" },
    { scenario: "remote-flow.sent", impl: "ours", value: sent, unit: "msg" },
    {
      scenario: "remote-flow.received",
      impl: "ours",
      value: report.received,
      unit: "msg",
      target: "= sent",
      pass: report.received === sent
    },
    { scenario: "remote-flow.out-of-order", impl: "ours", value: report.outOfOrder, unit: "msg", target: "0", pass: report.outOfOrder === 0 },
    { scenario: "remote-flow.drain-after-stop", impl: "ours", value: drain, unit: "s" }
  ]
  console.error(`  receiver RSS ${rssBefore.toFixed(0)} MB before, ${peak.toFixed(0)} MB at peak`)
  for (const row of rows) {
    console.error(`  ${row.scenario.padEnd(32)} ${row.value.toFixed(1).padStart(12)} ${row.unit}${row.target === undefined ? "" : ` target ${row.target} ${row.pass ? "PASS" : "MISS"}`}`)
    if (json) console.log(JSON.stringify(row))
  }
})

Effect.runPromise(Effect.scoped(main)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
