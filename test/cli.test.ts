/**
 * The `effect-actors` CLI (`bin/effect-actors.mjs`), run as a child process
 * against a node's dashboard endpoint: status, actors, lookup, tell, ask
 * (decoded with the actor's protocol on the node, with a readable error when
 * it does not match), stop, drain, the token, and its exit codes.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { execFile } from "node:child_process"
import { ActorSystem, Dashboard, Remoting } from "../src/index.js"
import { Counter } from "./helpers.js"

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const cli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.async<Run>((resume) => {
    execFile(process.execPath, ["bin/effect-actors.mjs", ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resume(Effect.succeed({ code, stdout, stderr }))
    })
  })

const Node = Dashboard.layer({ interval: "50 millis" }).pipe(
  Layer.provideMerge(Remoting.layer({ token: "cli-token" })),
  Layer.provideMerge(ActorSystem.layer({ name: "cli" }))
)

describe("the effect-actors CLI", () => {
  it.live("status, actors, lookup, tell, ask, stop against a node, with its token", () =>
    Effect.gen(function*() {
      const dashboard = yield* Dashboard.Dashboard
      const system = yield* ActorSystem.ActorSystem
      yield* system.spawn(Counter, "counter")
      yield* system.spawn(Counter, "other")
      const url = ["--url", dashboard.url, "--token", "cli-token"]

      const told = yield* cli(["tell", "counter", "{\"_tag\":\"Increment\",\"by\":4}", ...url])
      expect(told).toEqual({ code: 0, stdout: "delivered\n", stderr: "" })
      const asked = yield* cli(["ask", "counter", "{\"_tag\":\"GetCount\"}", ...url])
      expect(asked).toEqual({ code: 0, stdout: "4\n", stderr: "" })

      // A message that does not match the protocol: exit 1, what is wrong, on stderr.
      const wrong = yield* cli(["tell", "counter", "{\"_tag\":\"Increment\",\"by\":\"four\"}", ...url])
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toContain("the message does not match Counter's protocol (Increment, GetCount, Divide)")
      expect(wrong.stderr).toContain("Expected number, actual \"four\"")
      const notJson = yield* cli(["ask", "counter", "{_tag: GetCount}", ...url])
      expect(notJson.code).toBe(2)
      expect(notJson.stderr).toContain("the message is not JSON")

      // The token may come from the environment; without it, exit 1 saying how to give it.
      yield* Effect.sleep("150 millis")
      const status = yield* cli(["status", "--url", dashboard.url], { EFFECT_ACTORS_TOKEN: "cli-token" })
      expect(status.code).toBe(0)
      const [header, row] = status.stdout.trim().split("\n")
      expect(header).toMatch(/^NODE\s+STATUS\s+EPOCH\s+LEASE AGE\s+ADDRESS\s+ROLES\s+ACTORS\s+MSG\/S\s+DEADLETTERS\/S$/)
      expect(row).toMatch(/^cli \*\s+standalone\s+-\s+-\s+127\.0\.0\.1:\d+\s+-\s+2\s/)
      const refused = yield* cli(["status", "--url", dashboard.url])
      expect(refused.code).toBe(1)
      expect(refused.stderr).toContain("--token")

      // The filter matches name, kind or node.
      const actors = yield* cli(["actors", "oth", ...url])
      expect(actors.stdout.trim().split("\n").slice(1).map((line) => line.split(/\s+/))).toEqual([
        ["other", "Counter", "cli", "0", "0", "0", "0"]
      ])
      const json = yield* cli(["actors", "--json", ...url])
      expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((a) => a.name)).toEqual(["counter", "other"])

      const found = yield* cli(["lookup", "counter", ...url])
      expect(found.stdout).toMatch(/^effect-actors:\/\/cli@127\.0\.0\.1:\d+\/counter \(on this node\)\n$/)
      expect((yield* cli(["lookup", "nobody", ...url])).code).toBe(1)

      expect((yield* cli(["stop", "other", ...url])).stdout).toBe("stopped other\n")
      expect(Option.isNone(yield* system.lookup("other"))).toBe(true)
      const drain = yield* cli(["drain", "cli", ...url])
      expect(drain.code).toBe(1)
      expect(drain.stderr).toContain("not in a cluster")
    }).pipe(Effect.provide(Node)), 60_000)

  it.live("usage errors exit 2, an unreachable node exits 3", () =>
    Effect.gen(function*() {
      const help = yield* cli(["--help"])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain("tell NAME JSON")
      const unknown = yield* cli(["frobnicate"])
      expect(unknown.code).toBe(2)
      expect(unknown.stderr).toContain("unknown command frobnicate")
      expect((yield* cli(["tell", "counter"])).code).toBe(2)
      const away = yield* cli(["status", "--url", "http://127.0.0.1:9", "--timeout", "2"])
      expect(away.code).toBe(3)
      expect(away.stderr).toContain("cannot reach http://127.0.0.1:9")
    }), 60_000)
})
