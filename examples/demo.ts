/**
 * The demo run by `npm start`: three node processes on 127.0.0.1 count the
 * words of a corpus for a coordinator, over remoting. Midway the coordinator
 * kills one node with SIGKILL: its watcher receives `Terminated`
 * (NodeUnreachable), the lost worker is spawned again on a surviving node,
 * the chunks that were in flight are sent again, and the final counts are
 * checked against a local count.
 *
 * Until the cluster layer lands, the redeployment is done here by a local
 * overseer actor that watches the remote workers; the cluster will do the
 * same by itself.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Either, Layer, Logger, LogLevel, Schema } from "effect"
import { Actor, ActorSystem, type Pid, Remoting } from "../src/index.js"
import { CountWords, Stats, WordCounter } from "./demo/protocol.js"

const started = Date.now()
const say = (line: string) => Effect.sync(() => console.log(`[${((Date.now() - started) / 1000).toFixed(2)}s] ${line}`))

// ------------------------------------------------------------------ nodes

interface Node {
  readonly name: string
  readonly host: string
  readonly port: number
  readonly process: ChildProcess
}

const nodeScript = fileURLToPath(new URL("./demo/node.ts", import.meta.url))

/** Starts a node process and waits for it to listen; killed when the scope closes. */
const startNode = (name: string) =>
  Effect.acquireRelease(
    Effect.async<Node, Error>((resume) => {
      const child = spawn(process.execPath, ["--import", "tsx", nodeScript], {
        stdio: ["ignore", "pipe", "inherit"],
        // A node reads its settings from its environment (examples/demo/node.ts).
        env: {
          ...process.env,
          ACTORS_NAME: name,
          ACTORS_PASSIVATE_AFTER: "never",
          REMOTING_HOST: "127.0.0.1",
          REMOTING_PORT: "0"
        }
      })
      let output = ""
      child.stdout?.on("data", (data: Buffer) => {
        output += data.toString()
        const ready = /READY (\d+)/.exec(output)
        if (ready !== null) resume(Effect.succeed({ name, host: "127.0.0.1", port: Number(ready[1]), process: child }))
      })
      child.on("exit", (code, signal) => resume(Effect.fail(new Error(`${name} exited (${code ?? signal})`))))
    }).pipe(Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`${name} did not start`) })),
    stopNode
  )

/** SIGTERM: the node stops its actors gracefully and exits; SIGKILL if it takes too long. */
const stopNode = (node: Node) =>
  Effect.async<void>((resume) => {
    if (node.process.exitCode !== null || node.process.signalCode !== null) return resume(Effect.void)
    node.process.once("exit", () => resume(Effect.void))
    node.process.kill("SIGTERM")
  }).pipe(
    Effect.timeout("5 seconds"),
    Effect.catchAll(() => Effect.sync(() => node.process.kill("SIGKILL")))
  )

// ---------------------------------------------------------------- workers

interface Placement {
  pid: Pid.Pid<CountWords | Stats>
  node: Node
}

/** Where each worker lives now; the overseer moves workers off dead nodes. */
class Placements {
  readonly workers = new Map<string, Placement>()
  readonly deadNodes = new Set<string>()
  constructor(readonly nodes: ReadonlyArray<Node>) {}
  survivors(): Array<Node> {
    return this.nodes.filter((node) => !this.deadNodes.has(node.name))
  }
}

class Watch extends Schema.TaggedClass<Watch>()("Watch", { worker: Schema.String }) {}

/** Watches the remote workers and spawns a lost one again on a surviving node. */
const Overseer = (placements: Placements, remoting: Remoting.Service) =>
  Actor.make("Overseer", {
    protocol: [Watch],
    initialState: () => ({ redeployed: 0 }),
    receive: {
      Watch: (msg, ctx) => {
        const placement = placements.workers.get(msg.worker)
        return placement === undefined ? Effect.void : ctx.watch(placement.pid)
      },
      Terminated: (msg, ctx) =>
        Effect.gen(function*() {
          const lost = [...placements.workers].find(([, p]) => String(p.pid.address) === msg.address)
          if (lost === undefined) return
          const [worker, placement] = lost
          yield* say(`overseer: ${worker} on ${placement.node.name} terminated (${msg.reason})`)
          if (msg.reason.startsWith("NodeUnreachable")) placements.deadNodes.add(placement.node.name)
          const survivors = placements.survivors()
          const target = survivors[ctx.state.redeployed++ % survivors.length]
          if (target === undefined) return yield* say("overseer: no node left")
          const pid = yield* remoting.spawn(target, WordCounter, worker)
          placements.workers.set(worker, { pid, node: target })
          yield* ctx.watch(pid)
          yield* say(`overseer: ${worker} spawned again on ${target.name} with fresh state`)
        }).pipe(Effect.catchAll((error) => say(`overseer: redeploy failed: ${error._tag}`)))
    }
  })

// ----------------------------------------------------------------- corpus

const vocabulary = [
  "actor", "effect", "fiber", "mailbox", "message", "node", "schema", "supervisor",
  "stream", "layer", "scope", "cluster", "remote", "ask", "tell", "watch"
]

/** A deterministic corpus: `chunks` chunks of `lines` lines of 8 words. */
const corpus = (chunks: number, lines: number): Array<Array<string>> => {
  let seed = 42
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648
  return Array.from({ length: chunks }, () =>
    Array.from({ length: lines }, () =>
      Array.from({ length: 8 }, () => vocabulary[Math.floor(random() * vocabulary.length)]).join(" ")))
}

const countLocally = (chunks: ReadonlyArray<ReadonlyArray<string>>): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const chunk of chunks) {
    for (const line of chunk) for (const word of line.split(" ")) counts.set(word, (counts.get(word) ?? 0) + 1)
  }
  return counts
}

// ---------------------------------------------------------------- the demo

const program = Effect.gen(function*() {
  yield* say("starting three nodes on 127.0.0.1 (free ports)")
  const nodes = yield* Effect.all([startNode("node-1"), startNode("node-2"), startNode("node-3")], {
    concurrency: "unbounded"
  })
  for (const node of nodes) yield* say(`${node.name} listens on ${node.host}:${node.port}`)

  const remoting = yield* Remoting.Remoting
  const system = yield* ActorSystem.ActorSystem
  const placements = new Placements(nodes)
  const overseer = yield* system.spawn(Overseer(placements, remoting), "overseer")

  const workerNames = ["worker-a", "worker-b", "worker-c"]
  for (const [i, worker] of workerNames.entries()) {
    const node = nodes[i]!
    const pid = yield* remoting.spawn(node, WordCounter, worker)
    placements.workers.set(worker, { pid, node })
    yield* overseer.tell(new Watch({ worker }))
    yield* say(`spawned ${worker} on ${node.name}: ${String(pid.address)}`)
  }

  const chunks = corpus(60, 200)
  const totals = new Map<string, number>()
  let done = 0
  let retries = 0
  const victim = nodes[1]!

  const countChunk = (index: number) =>
    Effect.gen(function*() {
      const worker = workerNames[index % workerNames.length]!
      for (;;) {
        const placement = placements.workers.get(worker)!
        const result = yield* Effect.either(
          placement.pid.ask(new CountWords({ chunk: index, lines: chunks[index]! }), { timeout: "2 seconds" })
        )
        if (Either.isRight(result)) {
          for (const [word, n] of Object.entries(result.right)) totals.set(word, (totals.get(word) ?? 0) + n)
          done++
          if (done === 20) {
            yield* say(`20/60 chunks counted: killing ${victim.name} (pid ${victim.process.pid}) with SIGKILL`)
            victim.process.kill("SIGKILL")
          }
          return
        }
        retries++
        yield* say(`chunk ${index} to ${worker} on ${placement.node.name} failed with ${result.left._tag}; retrying`)
        yield* Effect.sleep("300 millis")
      }
    }).pipe(Effect.zipLeft(Effect.sleep("40 millis")))

  yield* say(`counting the words of ${chunks.length} chunks, three at a time`)
  yield* Effect.forEach(chunks.keys(), countChunk, { concurrency: 3, discard: true })

  const expected = countLocally(chunks)
  const same = expected.size === totals.size && [...expected].every(([word, n]) => totals.get(word) === n)
  const words = [...totals.values()].reduce((a, b) => a + b, 0)
  yield* say(`all ${chunks.length} chunks counted (${words} words, ${retries} retries after the node died)`)
  yield* say(same ? "verified: the totals match a local count, nothing lost or counted twice" : "MISMATCH with the local count")
  for (const worker of workerNames) {
    const placement = placements.workers.get(worker)!
    const stats = yield* placement.pid.ask(new Stats())
    yield* say(`${worker} now on ${stats.node}: ${stats.chunks} chunks, ${stats.words} words since it started`)
  }
  if (!same) return yield* Effect.fail(new Error("the counts do not match"))
  // The overseer goes first, or it would see the nodes leave and try to redeploy.
  yield* overseer.stop
  yield* say("stopping: SIGTERM to the nodes (each stops its actors and exits), then this system shuts down")
})

const CoordinatorLive = Remoting.layer({ host: "127.0.0.1", port: 0, probeInterval: "500 millis" }).pipe(
  Layer.provideMerge(ActorSystem.layer({ name: "coordinator", passivateAfter: "never" }))
)

// runMain: exit code 0 when the demo succeeds, 1 when it fails; SIGINT / SIGTERM stop it gracefully.
program.pipe(
  Effect.scoped,
  Effect.provide(CoordinatorLive),
  Logger.withMinimumLogLevel(LogLevel.Error),
  NodeRuntime.runMain
)
