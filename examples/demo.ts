/**
 * The demo run by `npm start`: a cluster of three node processes on
 * 127.0.0.1, over the embedded store (a SQLite file in a temporary
 * directory). This process joins the cluster too, without running actors,
 * and drives it:
 *
 * 1. it spawns 12 bank accounts by kind: rendezvous hashing spreads them
 *    over the three nodes; each node also declares a singleton (a ticker on
 *    a cluster-unique schedule);
 * 2. it deposits into every account by name, all the time;
 * 3. it kills the node holding the most accounts with SIGKILL, and waits
 *    for each of its accounts to answer from a survivor: no overseer, the
 *    survivors adopt them by themselves;
 * 4. it checks that every name answers from exactly one node and that the
 *    balances add up to the deposits acknowledged (the accounts keep their
 *    balance in a ledger under their fence, so a moved account carries on);
 * 5. it stops the nodes gracefully and exits.
 *
 * All along, this process serves the cluster's dashboard (`Dashboard.layer`,
 * the nodes run its reporter): its URL is printed once the nodes joined
 * (`DASHBOARD_PORT` picks the port; `DEMO_LINGER=60` keeps it up that many
 * seconds after the checks).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { Runtime } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Fiber, Layer, Logger, LogLevel, Ref, Schedule } from "effect"
import { ActorSystem, Cluster, ClusterStore, Dashboard, Discovery, Remoting } from "../src/index.js"
import { accountNames, Deposit, GetBalance } from "./demo/protocol.js"

const started = Date.now()
const say = (line: string) => Effect.sync(() => console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s] ${line}`))

const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "effect-actors-demo-"))
const store = Path.join(dir, "cluster.db")
const nodeScript = fileURLToPath(new URL("./demo/node.ts", import.meta.url))

/** Starts a node process and waits until it joined; stopped (SIGTERM, a graceful leave) when the scope closes. */
const startNode = (nodeId: string) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", nodeScript], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, NODE_ID: nodeId, STORE: store, LEDGER: Path.join(dir, "ledger.db") }
      })
      child.stdout?.on("data", (data: Buffer) => {
        for (const line of data.toString().split("\n")) {
          if (line === "READY") resume(Effect.succeed(child))
          else if (line !== "") console.log(`         ${nodeId} | ${line}`)
        }
      })
      child.on("exit", (code, signal) => resume(Effect.fail(new Error(`${nodeId} exited (${code ?? signal})`))))
    }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`${nodeId} did not start`) })),
    (child) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      }).pipe(Effect.timeout("10 seconds"), Effect.catchAll(() => Effect.sync(() => child.kill("SIGKILL"))))
  )

/** This process as a member of the cluster that runs no actors: it sends by name like any node, and serves the dashboard. */
const Driver = Dashboard.layer({ port: Number(process.env["DASHBOARD_PORT"] ?? 0) }).pipe(
  Layer.provideMerge(Cluster.layer({ nodeId: "driver", kinds: [], ttl: "3 seconds", heartbeat: "500 millis" })),
  Layer.provideMerge(Remoting.layer({ host: "127.0.0.1", port: 0 })),
  Layer.provideMerge(ActorSystem.layer({ name: "driver" })),
  Layer.provideMerge(ClusterStore.layerSqlite({ filename: store })),
  Layer.provide(Discovery.layerStatic([]))
)

/** Which node holds each account (from the directory). */
const owners = Effect.gen(function*() {
  const rows = yield* Effect.flatMap(ClusterStore.ClusterStore, (s) => s.lookup(accountNames))
  return new Map(accountNames.map((name) => [name, rows.get(name)?.owner.nodeId ?? "-"]))
})

const showOwners = (title: string) =>
  Effect.gen(function*() {
    const byNode = new Map<string, Array<string>>()
    for (const [name, node] of yield* owners) byNode.set(node, [...byNode.get(node) ?? [], name.replace("account-", "#")])
    yield* say(title)
    for (const [node, names] of [...byNode].sort()) yield* say(`    ${node}: ${names.join(" ")}`)
  })

const program = Effect.gen(function*() {
  yield* say(`three nodes on 127.0.0.1, cluster store ${store}`)
  const ids = ["node-1", "node-2", "node-3"]
  const processes = yield* Effect.forEach(ids, startNode, { concurrency: "unbounded" })
  const children = new Map(ids.map((id, i) => [id, processes[i]!]))
  const cluster = yield* Cluster.Cluster
  // Every node joined; wait until this node's view (read each heartbeat) shows them all.
  yield* Effect.repeat(cluster.nodes, {
    until: (members) => ids.every((id) => members.some((member) => member.nodeId === id)),
    schedule: Schedule.spaced("100 millis")
  })
  yield* say(`members: ${(yield* cluster.nodes).map((m) => m.nodeId).join(", ")}`)
  yield* say(`dashboard: ${(yield* Dashboard.Dashboard).url} (or: npx effect-actors status --url ...)`)

  // 1. Accounts spread over the nodes by rendezvous hashing (this process runs none).
  yield* Effect.forEach(accountNames, (name) => cluster.spawnKind("Account", name), { discard: true })
  yield* showOwners("12 accounts, each name held by one node:")

  // 2. Deposits by name, in a loop; each acknowledged one is counted.
  const acknowledged = yield* Ref.make(0)
  const seqs = new Map(accountNames.map((name) => [name, 0]))
  const deposit = (name: string) =>
    Effect.gen(function*() {
      const seq = (seqs.get(name) ?? 0) + 1
      seqs.set(name, seq)
      // Sent again after a failover, a deposit is counted once (the account keeps the last seq).
      yield* Effect.retry(cluster.sendSync(name, new Deposit({ seq, amount: 10 })), { times: 3 })
      yield* Ref.update(acknowledged, (n) => n + 10)
    })
  let depositing = true
  const rounds = yield* Effect.fork(
    Effect.repeat(Effect.forEach(accountNames, deposit, { concurrency: "unbounded", discard: true }), {
      while: () => depositing
    })
  )
  yield* Effect.sleep("3 seconds")
  yield* say(`deposits acknowledged so far: ${yield* Ref.get(acknowledged)}`)

  // 3. SIGKILL the node holding the most accounts.
  const before = yield* owners
  const count = (id: string) => [...before.values()].filter((node) => node === id).length
  const victim = [...children.keys()].sort((a, b) => count(b) - count(a))[0]!
  const lost = accountNames.filter((name) => before.get(name) === victim)
  yield* say(`SIGKILL ${victim} (pid ${children.get(victim)?.pid}), holding ${lost.length} accounts`)
  const killedAt = Date.now()
  children.get(victim)?.kill("SIGKILL")
  // Each of its accounts answers again, from a survivor (sendSync waits while a name moves).
  const answers = yield* Effect.forEach(lost, (name) =>
    Effect.map(cluster.sendSync(name, new GetBalance()), (answer) => ({ name, ...answer, ms: Date.now() - killedAt })), {
    concurrency: "unbounded"
  })
  for (const a of answers) yield* say(`    ${a.name} answers from ${a.node} after ${a.ms} ms, balance ${a.balance}`)
  const slowest = Math.max(...answers.map((a) => a.ms))
  yield* say(`all ${lost.length} accounts of ${victim} redeployed and answering ${slowest} ms after the kill`)
  yield* showOwners("now:")

  // 4. Names unique, totals consistent.
  yield* Effect.sleep("2 seconds")
  depositing = false
  yield* Fiber.join(rounds) // the round in flight completes
  const final = yield* Effect.forEach(accountNames, (name) => cluster.sendSync(name, new GetBalance()))
  const now = yield* owners
  const unique = accountNames.every((name, i) => final[i]!.node === now.get(name) && now.get(name) !== victim)
  const total = final.reduce((sum, a) => sum + a.balance, 0)
  const expected = yield* Ref.get(acknowledged)
  yield* say(`every name answers from the one node the directory names, none from ${victim}: ${unique}`)
  yield* say(`balances add up to ${total}; deposits acknowledged: ${expected}`)
  if (!unique || total !== expected) return yield* Effect.fail(new Error("the cluster lost track of an account"))
  const linger = Number(process.env["DEMO_LINGER"] ?? 0)
  if (linger > 0) {
    yield* say(`the dashboard stays up for ${linger} s`)
    yield* Effect.sleep(`${linger} seconds`)
  }
  yield* say("stopping the nodes (a graceful leave each)")
})

program.pipe(
  Effect.scoped,
  Effect.provide(Driver),
  Effect.ensuring(Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))),
  Effect.tap(() => say("done")),
  Logger.withMinimumLogLevel(LogLevel.Error),
  // Exit at once when done, whatever sockets are still closing.
  NodeRuntime.runMain({ teardown: (exit) => Runtime.defaultTeardown(exit, (code) => process.exit(code)) })
)
