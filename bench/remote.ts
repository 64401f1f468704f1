/**
 * Remote benchmark (issue 5): two processes on 127.0.0.1.
 *
 *   node --expose-gc --import tsx bench/remote.ts [--json] [--smoke]
 *
 * - remote-tell: 1,000,000 small tells (`Add`) from this process to an actor
 *   in the receiver process, timed until the actor has processed all of them
 *   (an ask queued behind the tells answers the count). Target ≥ 400,000 msg/s.
 * - remote-ask: sequential asks (`Echo`) to the remote actor, beside a bare
 *   `@effect/rpc` echo call over the same transport (TCP + msgpack, same
 *   socket code) measured in the same run; `ratioToRpc` = our mean latency ÷
 *   the bare call's. Target ≤ 1.5.
 * - the same with TLS on (`-tls` scenarios).
 *
 * Rows go to stderr as a table; with `--json`, one JSON object per row on
 * stdout (`scenario`, `impl`, `value`, `unit`, and `ratioToRpc` / `target` /
 * `pass` where they apply). `--smoke` runs a small version.
 */
import * as Socket from "@effect/platform/Socket"
import { RpcClient, RpcSerialization } from "@effect/rpc"
import { Context, Effect, Layer } from "effect"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"
import { ActorSystem, type Pid, Remoting } from "../src/index.js"
import * as Transport from "../src/Remoting/Transport.js"
import { generateCerts } from "../test/Remoting/certs.js"
import { Add, BareRpcs, Count, Echo, Sink } from "./remote-protocol.js"

const json = process.argv.includes("--json")
const smoke = process.argv.includes("--smoke")
const tells = smoke ? 100_000 : 1_000_000
const asks = smoke ? 500 : 5_000
const rounds = smoke ? 1 : 3

interface Row {
  readonly scenario: string
  readonly impl: string
  readonly value: number
  readonly unit: string
  readonly ratioToRpc?: number
  readonly target?: string
  readonly pass?: boolean
}

const rows: Array<Row> = []
const emit = (row: Row) => {
  rows.push(row)
  const extra = [
    row.ratioToRpc === undefined ? "" : ` ÷rpc ${row.ratioToRpc.toFixed(2)}`,
    row.target === undefined ? "" : ` target ${row.target} ${row.pass === true ? "PASS" : "MISS"}`
  ].join("")
  console.error(`  ${row.scenario.padEnd(22)} ${row.impl.padEnd(5)} ${row.value.toFixed(1).padStart(12)} ${row.unit}${extra}`)
  if (json) console.log(JSON.stringify(row))
}

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

interface Latency {
  readonly perSecond: number
  readonly mean: number
  readonly p50: number
  readonly p99: number
}

const latencies = (samples: Array<number>, totalMillis: number): Latency => {
  samples.sort((a, b) => a - b)
  const at = (q: number) => (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 1000
  return {
    perSecond: samples.length / (totalMillis / 1000),
    mean: (samples.reduce((a, b) => a + b, 0) / samples.length) * 1000,
    p50: at(0.5),
    p99: at(0.99)
  }
}

/** Sequential calls, each timed. */
const timeCalls = (n: number, call: (i: number) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function*() {
    const samples: Array<number> = new Array(n)
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      const t = performance.now()
      yield* call(i)
      samples[i] = performance.now() - t
    }
    return latencies(samples, performance.now() - start)
  })

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

const bareClient = (port: number, tls: Transport.TlsOptions | undefined) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      RpcClient.layerProtocolSocket().pipe(
        Layer.provide(Layer.effect(Socket.Socket, Transport.makeClientSocket({ host: "127.0.0.1", port, tls }))),
        Layer.provide(RpcSerialization.layerMsgPack)
      )
    )
    return yield* RpcClient.make(BareRpcs, { disableTracing: true }).pipe(Effect.provide(context))
  })

const senderNode = (tls: Transport.TlsOptions | undefined) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      Remoting.layer({ kinds: [], ...(tls === undefined ? {} : { tls }) }).pipe(
        Layer.provideMerge(ActorSystem.layer({ name: "sender", passivateAfter: "never" }))
      )
    )
    return Context.get(context, Remoting.Remoting)
  })

const gc = () => {
  if (typeof globalThis.gc === "function") globalThis.gc()
}

const run = (suffix: string, port: number, barePort: number, tls: Transport.TlsOptions | undefined) =>
  Effect.gen(function*() {
    const remoting = yield* senderNode(tls)
    const node = { host: "127.0.0.1", port }
    const bare = yield* bareClient(barePort, tls)

    // ------------------------------------------------------------- tells
    const add = new Add({ n: 1 })
    const rates: Array<number> = []
    for (let round = 0; round < rounds + 1; round++) {
      const sink: Pid.Pid<Add | Count> = yield* remoting.spawn(node, Sink, `sink-${suffix}-${round}`)
      const n = round === 0 ? Math.floor(tells / 10) : tells
      gc()
      const start = performance.now()
      for (let i = 0; i < n; i++) yield* sink.tell(add)
      let count = 0
      while (count < n) count = yield* sink.ask(new Count(), { timeout: "120 seconds" })
      const seconds = (performance.now() - start) / 1000
      if (round > 0) {
        rates.push(n / seconds)
        console.error(`  remote-tell${suffix} round ${round}/${rounds}: ${(n / seconds).toFixed(0)} msg/s`)
      }
      yield* sink.stop
    }
    const tellRate = median(rates)
    emit({
      scenario: `remote-tell${suffix}`,
      impl: "ours",
      value: tellRate,
      unit: "msg/s",
      target: "≥ 400000 msg/s",
      pass: tellRate >= 400_000
    })

    // -------------------------------------------------------------- asks
    const echo: Pid.Pid<Echo> = yield* remoting.spawn(node, Sink, `echo-${suffix}`)
    yield* timeCalls(Math.floor(asks / 5), (i) => echo.ask(new Echo({ n: i })))
    yield* timeCalls(Math.floor(asks / 5), (i) => bare.Echo({ n: i }))
    const ours: Array<Latency> = []
    const rpc: Array<Latency> = []
    for (let round = 0; round < rounds; round++) {
      gc()
      rpc.push(yield* timeCalls(asks, (i) => bare.Echo({ n: i })))
      gc()
      ours.push(yield* timeCalls(asks, (i) => echo.ask(new Echo({ n: i }))))
    }
    const pick = (list: Array<Latency>, f: (l: Latency) => number) => median(list.map(f))
    const ratio = pick(ours, (l) => l.mean) / pick(rpc, (l) => l.mean)
    emit({
      scenario: `remote-ask${suffix}`,
      impl: "ours",
      value: pick(ours, (l) => l.perSecond),
      unit: "ask/s",
      ratioToRpc: ratio,
      target: "≤ 1.5× rpc",
      pass: ratio <= 1.5
    })
    emit({ scenario: `remote-ask${suffix}`, impl: "rpc", value: pick(rpc, (l) => l.perSecond), unit: "call/s" })
    for (const metric of ["mean", "p50", "p99"] as const) {
      emit({ scenario: `remote-ask${suffix}-${metric}`, impl: "ours", value: pick(ours, (l) => l[metric]), unit: "µs" })
      emit({ scenario: `remote-ask${suffix}-${metric}`, impl: "rpc", value: pick(rpc, (l) => l[metric]), unit: "µs" })
    }
  })

const main = Effect.gen(function*() {
  const certs = generateCerts()
  const { ports } = yield* startReceiver(certs)
  console.error(`remote benchmark: ${tells} tells, ${asks} asks × ${rounds} rounds, receiver ports ${JSON.stringify(ports)}`)
  yield* Effect.scoped(run("", ports.node!, ports.bare!, undefined))
  yield* Effect.scoped(run("-tls", ports.tlsNode!, ports.tlsBare!, { ca: certs.ca }))
})

Effect.runPromise(Effect.scoped(main)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
