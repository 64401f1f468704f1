/**
 * Three real node processes (`fixtures/oracleNode.ts`) and this process as
 * a member that runs no actors: the scenarios of the kill -9 tests, shared
 * by the SQLite run (test/Cluster) and the PostgreSQL run (test/integration).
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { type Context, Effect, Fiber, Layer, Schedule, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { ActorSystem, Address, Cluster, ClusterStore, Discovery, Remoting } from "../../src/index.js"
import { controlName, SpawnHere } from "../../src/Cluster/internal/control.js"
import { oracleSchema, Write } from "./fixtures/oracleNode.js"

const nodeScript = fileURLToPath(new URL("./fixtures/oracleNode.ts", import.meta.url))
export const nodeIds = ["node-1", "node-2", "node-3"] as const

/** Where the nodes keep their store and the oracle. */
export interface Setup {
  readonly storeKind: "sqlite" | "pg"
  /** The SQLite file, or the PostgreSQL URL. */
  readonly store: string
  readonly oracle: string
  /** Whether the nodes adopt a dead process's actors on the same-host proof (default true; false waits for its lease). */
  readonly sameHostProof?: boolean
}

/** A temporary directory, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "ea-kill-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** Nodes on one SQLite file and an oracle file, both in a temporary directory removed with the scope. */
export const sqliteSetup: Effect.Effect<Setup, never, Scope.Scope> = Effect.map(tempDir, (dir): Setup => ({
  storeKind: "sqlite",
  store: join(dir, "cluster.db"),
  oracle: join(dir, "oracle.db")
}))

/** Starts a node process and waits for `READY`; killed when the scope closes. */
const startNode = (setup: Setup, nodeId: string) =>
  Effect.acquireRelease(
    Effect.async<ChildProcess, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", nodeScript], {
        stdio: ["ignore", "pipe", "inherit"],
        env: {
          ...process.env,
          NODE_ID: nodeId,
          STORE_KIND: setup.storeKind,
          STORE: setup.store,
          ORACLE: setup.oracle,
          SAME_HOST_PROOF: setup.sameHostProof === false ? "0" : "1"
        }
      })
      child.stdout?.on("data", (data: Buffer) => {
        if (data.toString().includes("READY")) resume(Effect.succeed(child))
      })
      child.on("exit", (code, signal) => resume(Effect.fail(new Error(`${nodeId} exited (${code ?? signal})`))))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** This process in the cluster (no kinds), with the oracle's connection. */
const driver = (setup: Setup) =>
  Cluster.layer({ nodeId: "driver", kinds: [], ttl: "3 seconds", heartbeat: "500 millis", reapInterval: "250 millis" }).pipe(
    Layer.provideMerge(Remoting.layer({ host: "127.0.0.1", port: 0 })),
    Layer.provideMerge(ActorSystem.layer({ name: "driver" })),
    Layer.provideMerge(
      setup.storeKind === "pg"
        ? ClusterStore.layerPg({ url: setup.store, maxConnections: 4 })
        : ClusterStore.layerSqlite({ filename: setup.store })
    ),
    Layer.provide(Discovery.layerStatic([])),
    Layer.provideMerge(SqliteClient.layer({ filename: setup.oracle }))
  )

type Driver = Cluster.Cluster | ClusterStore.ClusterStore | SqlClient.SqlClient | ActorSystem.ActorSystem

/** Starts the three nodes and the driver; answers once the driver sees them all. */
export const cluster = (setup: Setup): Effect.Effect<
  { readonly children: ReadonlyMap<string, ChildProcess>; readonly context: Context.Context<Driver> },
  unknown,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(driver(setup))
    yield* Effect.provide(oracleSchema, context)
    const started = yield* Effect.forEach(nodeIds, (id) => startNode(setup, id), { concurrency: "unbounded" })
    const children = new Map(nodeIds.map((id, i) => [id, started[i]!]))
    yield* Effect.flatMap(Cluster.Cluster, (c) =>
      Effect.repeat(c.nodes, {
        until: (members) => nodeIds.every((id) => members.some((member) => member.nodeId === id)),
        schedule: Schedule.spaced("100 millis")
      })).pipe(Effect.provide(context))
    return { children, context }
  })

const oracleRows = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all({
    rows: sql<{ name: string; fence: number; node: string; writes: number }>`SELECT name, fence, node, writes FROM oracle`,
    rejected: sql<{ name: string; fence: number; node: string; newer: number }>`SELECT * FROM rejected`
  }))

/**
 * `count` writers spread over the nodes, asked by name in a loop; the node with
 * the most is SIGKILLed mid-conversation; answers the oracle once every
 * writer answered again from a survivor.
 */
export const killOneMidConversation = (setup: Setup, count = 60) =>
  Effect.gen(function*() {
    const { children, context } = yield* cluster(setup)
    return yield* Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const names = Array.from({ length: count }, (_, i) => `writer-${i}`)
      yield* Effect.forEach(names, (name) => c.spawnKind("Writer", name), { concurrency: 8, discard: true })
      const ask = (name: string) => c.sendSync(name, new Write())
      const first = yield* Effect.forEach(names, ask, { concurrency: 16 })
      const counts = new Map<string, number>()
      for (const answer of first) counts.set(answer.node, (counts.get(answer.node) ?? 0) + 1)
      const victim = [...counts].sort((a, b) => b[1] - a[1])[0]![0]
      const lost = names.filter((_, i) => first[i]!.node === victim)
      // The conversation goes on while the node dies.
      const talking = yield* Effect.fork(Effect.forever(Effect.forEach(names, (name) => Effect.ignore(ask(name)), {
        concurrency: 16,
        discard: true
      })))
      yield* Effect.sleep("300 millis")
      const killedAt = performance.now()
      children.get(victim)?.kill("SIGKILL")
      const after = yield* Effect.forEach(lost, (name) =>
        ask(name).pipe(
          Effect.filterOrFail((answer) => answer.node !== victim),
          Effect.retry(Schedule.spaced("50 millis"))
        ), {
        concurrency: "unbounded"
      })
      const redeployMs = performance.now() - killedAt
      yield* Effect.sleep("1 second") // more writes from everyone, the adopters included
      yield* Fiber.interrupt(talking)
      const oracle = yield* oracleRows
      return { victim, lost, first, after, oracle, names, redeployMs }
    }).pipe(Effect.provide(context))
  })

/** Each node is asked at the same moment to spawn one name: the answers. */
export const spawnFromEveryNode = (setup: Setup, name: string) =>
  Effect.gen(function*() {
    const { context } = yield* cluster(setup)
    return yield* Effect.gen(function*() {
      const c = yield* Cluster.Cluster
      const members = (yield* c.nodes).filter((member) => member.nodeId !== "driver")
      const asks = members.map((member) => {
        const [, system = "", host = "", port = "0"] = /^(?:([^@]+)@)?(.+):(\d+)$/.exec(member.address) ?? []
        const control = Address.make({ system, host, port: Number(port), path: [controlName] })
        return Effect.flatMap(Remoting.pid(control), (pid) =>
          Effect.exit(pid.ask(new SpawnHere({ kind: "Writer", name, options: {} }))))
      })
      const exits = yield* Effect.all(asks, { concurrency: "unbounded" })
      const owner = (yield* Effect.flatMap(ClusterStore.ClusterStore, (s) => s.lookup([name]))).get(name)
      return { exits, owner }
    }).pipe(Effect.provide(context))
  })
