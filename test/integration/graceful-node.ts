/**
 * A node for the graceful-stop test: an actor system configured from its
 * environment (`ACTORS_NAME`, `ACTORS_SHUTDOWN_TIMEOUT`), `PARENTS` actors
 * with `CHILDREN` children each, every one with a `postStop` that writes
 * `STOPPED <address>` on stdout. Prints `READY <count>` when all are
 * spawned, then runs under `NodeRuntime.runMain` until a signal stops it.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, ConfigProvider, Effect, Layer, Schema } from "effect"
import { writeSync } from "node:fs"
import { Actor, ActorSystem } from "../../src/index.js"

const parents = Number(process.env["PARENTS"] ?? 50)
const children = Number(process.env["CHILDREN"] ?? 3)

/** Synchronous, so a line written just before the process exits is not lost. */
const line = (text: string) => Effect.sync(() => writeSync(1, `${text}\n`))

class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}

/** An asynchronous postStop: the stop must wait for it. */
const postStop = (ctx: { readonly address: unknown }) =>
  Effect.sleep("2 millis").pipe(Effect.zipRight(line(`STOPPED ${String(ctx.address)}`)))

const Child = Actor.make("Child", { protocol: [Ping], receive: { Ping: () => Effect.void }, postStop })

const Parent = Actor.make("Parent", {
  protocol: [Ping],
  receive: { Ping: () => Effect.void },
  preStart: (ctx) =>
    Effect.forEach(Array.from({ length: children }, (_, i) => i), (i) => ctx.spawnChild(Child, `c${i}`), {
      discard: true
    }),
  postStop
})

const SystemLive = ActorSystem.layerConfig(Config.nested(ActorSystem.config, "actors")).pipe(
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase)))
)

const program = Effect.gen(function*() {
  const system = yield* ActorSystem.ActorSystem
  for (let i = 0; i < parents; i++) yield* system.spawn(Parent, `p${i}`)
  yield* line(`READY ${yield* system.count}`)
  return yield* Effect.never
})

program.pipe(Effect.provide(SystemLive), NodeRuntime.runMain)
