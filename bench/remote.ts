/**
 * Remote benchmark (issue 9): two processes on 127.0.0.1.
 *
 *   node --expose-gc --import tsx bench/remote.ts [--json] [--smoke]
 *
 * - remote-ask.p50 / remote-ask.p99: sequential asks (`Echo`) to an actor in
 *   the receiving process (`ours`), beside a raw `node:net` echo of a small
 *   buffer (`raw`) measured in the same run, alternating rounds. Targets:
 *   p50 ≤ 2× raw p50, p99 ≤ 3× raw p99.
 * - remote-ask-concurrent: 100 asks in flight (100 fibers asking in a
 *   loop). Target ≥ 50,000 asks/s.
 * - remote-tell / remote-tell-tls: 1,000,000 tells of a message built per
 *   send (`make.Add({ n: 1 })`, the fast constructor of `Message.constructors`
 *   that the local benchmark uses too), timed until the actor has processed all of
 *   them. Targets: ≥ 1,000,000 msg/s; TLS ≥ 0.85× TCP. The rows also give
 *   each process's CPU time per tell (`cpuSenderNs`, `cpuReceiverNs`; Linux):
 *   what bounds the rate on a quiet machine, and steadier than it on a busy one.
 *
 * Rows go to stderr as a table; with `--json`, one JSON object per row on
 * stdout (`scenario`, `impl`, `value`, `unit`, and `ratio` / `target` /
 * `pass` where they apply). `--smoke` runs a small version.
 */
import { Context, Effect, Fiber, Layer } from "effect"
import { spawn } from "node:child_process"
import * as Net from "node:net"
import { loadavg } from "node:os"
import { readFileSync } from "node:fs"
import { createInterface } from "node:readline"
import { ActorSystem, Message, type Pid, Remoting } from "../src/index.js"
import type * as Transport from "../src/Remoting/Transport.js"
import { generateCerts } from "../test/Remoting/certs.js"
import { Add, Count, Echo, Sink } from "./remote-protocol.js"

/** Messages built per send the cheap way (as the local benchmark does): `new Add(...)` costs 1-2 µs alone. */
const make = Message.constructors([Add, Echo])

const json = process.argv.includes("--json")
const smoke = process.argv.includes("--smoke")
const onlyFlag = process.argv.indexOf("--only")
/** `--only ask,concurrent,tell,tls`: the parts to run (all by default). */
const only = onlyFlag < 0 ? undefined : new Set((process.argv[onlyFlag + 1] ?? "").split(","))
const wants = (part: string) => only === undefined || only.has(part)
const tells = smoke ? 100_000 : 1_000_000
const asks = smoke ? 1_000 : 10_000
const concurrentAsks = smoke ? 20_000 : 200_000
const rounds = smoke ? 1 : 3

interface Row {
  readonly scenario: string
  readonly impl: string
  readonly value: number
  readonly unit: string
  readonly ratio?: number
  /** Tells: CPU time per tell of the sending and the receiving process (medians of the rounds). */
  readonly cpuSenderNs?: number
  readonly cpuReceiverNs?: number
  readonly target?: string
  readonly pass?: boolean
}

const emit = (row: Row) => {
  const extra = [
    row.ratio === undefined ? "" : ` ratio ${row.ratio.toFixed(2)}`,
    row.cpuSenderNs === undefined ? "" : ` CPU/tell sender ${row.cpuSenderNs.toFixed(0)} ns receiver ${row.cpuReceiverNs?.toFixed(0)} ns`,
    row.target === undefined ? "" : ` target ${row.target} ${row.pass === true ? "PASS" : "MISS"}`
  ].join("")
  console.error(`  ${row.scenario.padEnd(24)} ${row.impl.padEnd(5)} ${row.value.toFixed(1).padStart(12)} ${row.unit}${extra}`)
  if (json) console.log(JSON.stringify(row))
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

interface Latency {
  readonly p50: number
  readonly p99: number
}

const latencies = (samples: Array<number>): Latency => {
  samples.sort((a, b) => a - b)
  const at = (q: number) => (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 1000
  return { p50: at(0.5), p99: at(0.99) }
}

const startReceiver = (certs: ReturnType<typeof generateCerts>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly ports: Record<string, number>; readonly child: ReturnType<typeof spawn> }, Error>(
      (resume) => {
        // BENCH_CHILD_FLAGS="--cpu-prof" profiles the receiving process too.
        const flags = (process.env.BENCH_CHILD_FLAGS ?? "").split(" ").filter((flag) => flag !== "")
        const child = spawn(process.execPath, [...flags, "--import", "tsx", "bench/remote-node.ts"], {
          stdio: ["pipe", "pipe", "inherit"]
        })
        child.stdin!.write(`${JSON.stringify({ cert: certs.serverCert, key: certs.serverKey })}\n`)
        childPid = child.pid!
        const lines = createInterface({ input: child.stdout! })
        lines.once("line", (line) => resume(Effect.succeed({ ports: JSON.parse(line) as Record<string, number>, child })))
        child.once("exit", (code) => resume(Effect.fail(new Error(`receiver exited with ${code}`))))
      }
    ),
    ({ child }) =>
      Effect.async<void>((resume) => {
        // Closing stdin lets the receiver exit by itself (and write its profile); SIGKILL if it does not.
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
        child.once("exit", () => {
          clearTimeout(timer)
          resume(Effect.void)
        })
        child.stdin!.end()
      })
  )

/** The baseline: sequential round trips of a 24-byte buffer on a raw socket, each timed. */
const rawEcho = (port: number, n: number) =>
  Effect.promise(() =>
    new Promise<Latency>((resolve) => {
      const socket = Net.connect({ host: "127.0.0.1", port })
      socket.setNoDelay(true)
      const payload = Buffer.alloc(24, 7)
      const samples: Array<number> = new Array(n)
      let i = 0
      let got = 0
      let t = 0
      const next = () => {
        t = performance.now()
        socket.write(payload)
      }
      socket.on("data", (chunk) => {
        got += chunk.length
        if (got < payload.length) return
        got = 0
        samples[i++] = performance.now() - t
        if (i < n) next()
        else {
          socket.destroy()
          resolve(latencies(samples))
        }
      })
      socket.once("connect", next)
    })
  )

/** The baseline of asks in flight: 100 buffers in flight on a raw socket, echoed. */
const rawInFlight = (port: number, n: number) =>
  Effect.promise(() =>
    new Promise<number>((resolve) => {
      const socket = Net.connect({ host: "127.0.0.1", port })
      socket.setNoDelay(true)
      const payload = Buffer.alloc(24, 7)
      let got = 0
      let done = 0
      let start = 0
      socket.on("data", (chunk) => {
        got += chunk.length
        while (got >= payload.length) {
          got -= payload.length
          done++
          if (done + 99 < n) socket.write(payload)
          if (done === n) {
            socket.destroy()
            resolve(n / ((performance.now() - start) / 1000))
          }
        }
      })
      socket.once("connect", () => {
        start = performance.now()
        for (let i = 0; i < 100; i++) socket.write(payload)
      })
    })
  )

const senderNode = (tls: Transport.TlsOptions | undefined) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      Remoting.layer({ kinds: [], ...(tls === undefined ? {} : { tls }) }).pipe(
        Layer.provideMerge(ActorSystem.layer({ name: "sender", passivateAfter: "never" }))
      )
    )
    return Context.get(context, Remoting.Remoting)
  })

let childPid = 0
/** The receiving process's CPU seconds (Linux `/proc`; NaN elsewhere). */
const childCpu = (): number => {
  try {
    const fields = readFileSync(`/proc/${childPid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return NaN
  }
}
const gc = () => {
  if (typeof globalThis.gc === "function") globalThis.gc()
}

const tellRate = (remoting: Remoting.Service, port: number, suffix: string) =>
  Effect.gen(function*() {
    const node = { host: "127.0.0.1", port }
    const rates: Array<number> = []
    const senderCpu: Array<number> = []
    const receiverCpu: Array<number> = []
    for (let round = 0; round < rounds + 1; round++) {
      const sink: Pid.Pid<Add | Count> = yield* remoting.spawn(node, Sink, `sink${suffix}-${round}`)
      const n = round === 0 ? Math.floor(tells / 10) : tells
      gc()
      const cpu0 = process.cpuUsage()
      const rcpu0 = childCpu()
      const start = performance.now()
      // A message built per send, as users write it.
      for (let i = 0; i < n; i++) yield* sink.tell(make.Add({ n: 1 }))
      let count = 0
      while (count < n) count = yield* sink.ask(new Count(), { timeout: "120 seconds" })
      const seconds = (performance.now() - start) / 1000
      const cpu = process.cpuUsage(cpu0)
      const senderNs = ((cpu.user + cpu.system) * 1000) / n
      const receiverNs = ((childCpu() - rcpu0) * 1e9) / n
      if (round > 0) {
        rates.push(n / seconds)
        senderCpu.push(senderNs)
        receiverCpu.push(receiverNs)
        console.error(
          `  remote-tell${suffix} round ${round}/${rounds}: ${(n / seconds).toFixed(0)} msg/s, CPU per tell: sender ${
            senderNs.toFixed(0)
          } ns, receiver ${receiverNs.toFixed(0)} ns`
        )
      }
      yield* sink.stop
    }
    return { rate: median(rates), cpuSenderNs: median(senderCpu), cpuReceiverNs: median(receiverCpu) }
  })

const run = Effect.gen(function*() {
  const certs = generateCerts()
  const { ports } = yield* startReceiver(certs)
  console.error(
    `remote benchmark: ${tells} tells, ${asks} asks × ${rounds} rounds, load average ${
      loadavg().map((l) => l.toFixed(2)).join(" ")
    }, receiver ports ${JSON.stringify(ports)}`
  )
  const remoting = yield* senderNode(undefined)
  const node = { host: "127.0.0.1", port: ports.node! }

  const echo: Pid.Pid<Echo> = yield* remoting.spawn(node, Sink, "echo")
  if (wants("ask")) yield* askRows(echo, ports.raw!)
  if (wants("concurrent")) yield* concurrentRows(echo, ports.raw!)
  if (!wants("tell")) return
  const { rate: tcp, ...tcpCpu } = yield* tellRate(remoting, ports.node!, "")
  emit({ scenario: "remote-tell", impl: "ours", value: tcp, unit: "msg/s", ...tcpCpu, target: "≥ 1000000 msg/s", pass: tcp >= 1_000_000 })
  if (!wants("tls")) return
  const tlsRemoting = yield* senderNode({ ca: certs.ca })
  const { rate: tls, ...tlsCpu } = yield* tellRate(tlsRemoting, ports.tlsNode!, "-tls")
  emit({ scenario: "remote-tell-tls", impl: "ours", value: tls, unit: "msg/s", ...tlsCpu, ratio: tls / tcp, target: "≥ 0.85× tcp", pass: tls >= 0.85 * tcp })
})

/** Sequential asks, alternating rounds with the raw echo. */
const askRows = (echo: Pid.Pid<Echo>, rawPort: number) =>
  Effect.gen(function*() {
    const oursOnce = Effect.gen(function*() {
      const samples: Array<number> = new Array(asks)
      for (let i = 0; i < asks; i++) {
        const t = performance.now()
        yield* echo.ask(make.Echo({ n: i }))
        samples[i] = performance.now() - t
      }
      return latencies(samples)
    })
    yield* oursOnce
    yield* rawEcho(rawPort, asks)
    const ours: Array<Latency> = []
    const raw: Array<Latency> = []
    for (let round = 0; round < rounds; round++) {
      gc()
      raw.push(yield* rawEcho(rawPort, asks))
      gc()
      ours.push(yield* oursOnce)
    }
    const p50 = median(ours.map((l) => l.p50))
    const p99 = median(ours.map((l) => l.p99))
    const rawP50 = median(raw.map((l) => l.p50))
    const rawP99 = median(raw.map((l) => l.p99))
    emit({ scenario: "remote-ask.p50", impl: "ours", value: p50, unit: "µs", ratio: p50 / rawP50, target: "≤ 2× raw", pass: p50 <= 2 * rawP50 })
    emit({ scenario: "remote-ask.p50", impl: "raw", value: rawP50, unit: "µs" })
    emit({ scenario: "remote-ask.p99", impl: "ours", value: p99, unit: "µs", ratio: p99 / rawP99, target: "≤ 3× raw", pass: p99 <= 3 * rawP99 })
    emit({ scenario: "remote-ask.p99", impl: "raw", value: rawP99, unit: "µs" })
  })

/** 100 asks in flight, beside the raw socket with 100 round trips in flight. */
const concurrentRows = (echo: Pid.Pid<Echo>, rawPort: number) =>
  Effect.gen(function*() {
    const concurrent: Array<number> = []
    for (let round = 0; round < rounds; round++) {
      gc()
      const each = Math.floor(concurrentAsks / 100)
      const start = performance.now()
      const fibers = yield* Effect.forEach(
        Array.from({ length: 100 }, (_, f) => f),
        (f) =>
          Effect.fork(Effect.gen(function*() {
            for (let i = 0; i < each; i++) yield* echo.ask(make.Echo({ n: f * each + i }))
          })),
        { concurrency: "unbounded" }
      )
      yield* Fiber.joinAll(fibers)
      concurrent.push((each * 100) / ((performance.now() - start) / 1000))
    }
    const inFlight = median(concurrent)
    emit({ scenario: "remote-ask-concurrent", impl: "ours", value: inFlight, unit: "ask/s", target: "≥ 50000 ask/s", pass: inFlight >= 50_000 })
    // For scale on a loaded machine: the raw socket with 100 round trips in flight (one write each).
    emit({ scenario: "remote-ask-concurrent", impl: "raw", value: yield* rawInFlight(rawPort, concurrentAsks), unit: "echo/s" })
  })

Effect.runPromise(Effect.scoped(run)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
