/**
 * One node of the demo: an actor system with remoting on a free port of
 * 127.0.0.1, where other nodes may spawn `WordCounter`s. Prints
 * `READY <port>` once it listens, then serves until it is killed.
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import { ActorSystem, Remoting } from "../../src/index.js"
import { WordCounter } from "./protocol.js"

const name = process.argv[2] ?? "node"

const NodeLive = Remoting.layer({ host: "127.0.0.1", port: 0, kinds: [WordCounter] }).pipe(
  Layer.provideMerge(ActorSystem.layer({ name, passivateAfter: "never" }))
)

const program = Effect.gen(function*() {
  const remoting = yield* Remoting.Remoting
  console.log(`READY ${remoting.port}`)
  return yield* Effect.never
})

Effect.runFork(
  program.pipe(Effect.provide(NodeLive), Logger.withMinimumLogLevel(LogLevel.Warning))
)
