/**
 * One node of the demo: an actor system with remoting, configured from its
 * environment (`ACTORS_NAME`, `REMOTING_HOST`, `REMOTING_PORT`, ... see the
 * README's "A node from its environment"), where other nodes may spawn
 * `WordCounter`s. Prints `READY <port>` once it listens, then serves until
 * SIGINT or SIGTERM stops it gracefully (or SIGKILL does not).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, ConfigProvider, Effect, Layer, Logger, LogLevel } from "effect"
import { ActorSystem, Remoting } from "../../src/index.js"
import { WordCounter } from "./protocol.js"

const NodeLive = Remoting.layerConfig(
  Config.nested(Remoting.config, "remoting").pipe(Config.map((options) => ({ ...options, kinds: [WordCounter] })))
).pipe(
  Layer.provideMerge(ActorSystem.layerConfig(Config.nested(ActorSystem.config, "actors"))),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromEnv().pipe(ConfigProvider.constantCase)))
)

const program = Effect.gen(function*() {
  const remoting = yield* Remoting.Remoting
  console.log(`READY ${remoting.port}`)
  return yield* Effect.never
})

program.pipe(Effect.provide(NodeLive), Logger.withMinimumLogLevel(LogLevel.Warning), NodeRuntime.runMain)
