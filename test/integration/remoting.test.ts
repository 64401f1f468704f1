import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Option } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { createInterface } from "node:readline"
import type { Pid } from "../../src/index.js"
import {
  Counter,
  GetCount,
  GetPongs,
  GetTerminated,
  Increment,
  Pinger,
  Ponger,
  scopedNode,
  SendPing,
  Sleep,
  Watcher,
  WatchIt
} from "../Remoting/fixtures.js"

/** Starts `remoting-node.ts` as a child process; kills it with the scope. */
const childNode = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly child: ChildProcess }, Error>((resume) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/integration/remoting-node.ts"], {
      stdio: ["pipe", "pipe", "inherit"]
    })
    createInterface({ input: child.stdout! }).once("line", (line) => {
      resume(Effect.succeed({ port: (JSON.parse(line) as { port: number }).port, child }))
    })
    child.once("exit", (code) => resume(Effect.fail(new Error(`child exited with ${code}`))))
  }),
  ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
)

const until = <A, E>(check: Effect.Effect<A, E>, ok: (a: A) => boolean, millis = 10_000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    let last = yield* check
    while (!ok(last) && Date.now() < deadline) {
      yield* Effect.sleep("20 millis")
      last = yield* check
    }
    return last
  })

describe("remoting between two OS processes", () => {
  it.scopedLive("messages, replies to the sender, and a SIGKILL mid-conversation", () =>
    Effect.gen(function*() {
      const { child, port } = yield* childNode
      const a = yield* scopedNode("parent", { probeInterval: "200 millis", probeTimeout: "1 second" })
      const node = { host: "127.0.0.1", port }

      // Find the child's counter and talk to it.
      const counter = Option.getOrThrow(yield* a.remoting.lookup({ ...node, name: "counter" }, Counter))
      for (let i = 0; i < 1000; i++) yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* counter.ask(new GetCount())).toBe(1000)

      // Replies to the sender cross the process boundary.
      const ponger = yield* a.remoting.spawn(node, Ponger, "ponger")
      const pinger = yield* a.system.spawn(Pinger, "pinger")
      for (let i = 0; i < 3; i++) yield* pinger.tell(new SendPing({ to: ponger, n: i }))
      expect(yield* until(pinger.ask(new GetPongs()), (p) => p.length === 3)).toEqual([0, 1, 2])

      // A local watcher of the remote counter.
      const watcher = yield* a.system.spawn(Watcher, "watcher")
      yield* watcher.tell(new WatchIt({ target: counter }))
      yield* Effect.sleep("200 millis")

      // Asks in flight when the child is killed fail; none hangs.
      const inFlight = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () => Effect.fork(counter.ask(new Sleep({ millis: 30_000 }), { timeout: "4 seconds" })),
        { concurrency: "unbounded" }
      )
      yield* Effect.sleep("200 millis")
      child.kill("SIGKILL")
      const exits = yield* Effect.forEach(inFlight, Fiber.await).pipe(Effect.timeout("15 seconds"))
      for (const exit of exits) {
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/NodeUnreachable|AskTimeout/)
      }
      // New calls to the dead node fail fast with NodeUnreachable (or time out), never hang.
      const after = yield* Effect.flip(counter.ask(new GetCount(), { timeout: "2 seconds" }))
      expect(["NodeUnreachable", "AskTimeout"]).toContain(after._tag)
      // A tell to the dead node returns (the message becomes a deadletter here).
      yield* (counter as Pid.Pid<Increment>).tell(new Increment({ by: 1 }))

      // The watcher learns that the node is gone.
      const terminated = yield* until(watcher.ask(new GetTerminated()), (list) => list.length > 0)
      expect(terminated.length).toBe(1)
      expect(terminated[0]?.address).toBe(counter.address.toString())
      expect(terminated[0]?.reason).toMatch(/NodeUnreachable/)
    }), 60_000)
})
