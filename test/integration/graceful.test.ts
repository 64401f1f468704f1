/**
 * C2 graceful stop of a node process: `NodeRuntime.runMain` turns SIGTERM
 * and SIGINT into closing the actor system, so every `postStop` runs once,
 * children before their parent, and the process exits 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { createInterface } from "node:readline"

const parents = 60
const children = 3

interface Run {
  readonly lines: ReadonlyArray<string>
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Starts graceful-node.ts, sends `signal` once it is READY, and collects its output until it exits. */
const runAndSignal = (signal: NodeJS.Signals) =>
  new Promise<Run>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/integration/graceful-node.ts"], {
      stdio: ["ignore", "pipe", "inherit"],
      env: {
        ...process.env,
        ACTORS_NAME: "graceful",
        ACTORS_SHUTDOWN_TIMEOUT: "20 seconds",
        PARENTS: String(parents),
        CHILDREN: String(children)
      }
    })
    const lines: Array<string> = []
    const killer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no exit after ${signal}; output so far:\n${lines.join("\n")}`))
    }, 50_000)
    createInterface({ input: child.stdout }).on("line", (line) => {
      lines.push(line)
      if (line.startsWith("READY")) child.kill(signal)
    })
    child.once("error", reject)
    child.once("close", (code, signal) => {
      clearTimeout(killer)
      resolve({ lines, code, signal })
    })
  })

describe("C2 a node process stops gracefully on a signal", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal}: every postStop runs once, children first, exit code 0`, { timeout: 60_000 }, async () => {
      const { code, lines, signal: killedBy } = await runAndSignal(signal)
      expect(lines[0]).toBe(`READY ${parents * (children + 1)}`)
      const stopped = lines.filter((line) => line.startsWith("STOPPED ")).map((line) => line.slice(8))
      const expected: Array<string> = []
      for (let p = 0; p < parents; p++) {
        expected.push(`effect-actors://graceful/p${p}`)
        for (let c = 0; c < children; c++) expected.push(`effect-actors://graceful/p${p}/c${c}`)
      }
      expect([...stopped].sort()).toEqual(expected.sort())
      for (let p = 0; p < parents; p++) {
        const parent = stopped.indexOf(`effect-actors://graceful/p${p}`)
        for (let c = 0; c < children; c++) {
          expect(stopped.indexOf(`effect-actors://graceful/p${p}/c${c}`)).toBeLessThan(parent)
        }
      }
      expect(lines.filter((line) => !line.startsWith("STOPPED ") && !line.startsWith("READY"))).toEqual([])
      expect({ code, signal: killedBy }).toEqual({ code: 0, signal: null })
    })
  }
})
