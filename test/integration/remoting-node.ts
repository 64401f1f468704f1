/**
 * A remoting node in its own OS process, for the `remoting*.test.ts`
 * integration tests: spawns a local `counter`, prints `{"port":N}` and
 * serves until killed (or stdin ends). Its first argument, when given, is
 * JSON merged into the `Remoting.layer` options (token, limits...).
 */
import { Effect, Layer } from "effect"
import { ActorSystem, Remoting } from "../../src/index.js"
import { Counter, Ponger } from "../Remoting/fixtures.js"

const main = Effect.gen(function*() {
  const context = yield* Layer.build(
    Remoting.layer({ kinds: [Counter, Ponger], ...(JSON.parse(process.argv[2] ?? "{}") as Remoting.Options) }).pipe(
      Layer.provideMerge(ActorSystem.layer({ name: "child", passivateAfter: "never" }))
    )
  )
  const system = yield* Effect.provide(ActorSystem.ActorSystem, context)
  const remoting = yield* Effect.provide(Remoting.Remoting, context)
  yield* system.spawn(Counter, "counter")
  process.stdout.write(`${JSON.stringify({ port: remoting.port })}\n`)
  yield* Effect.async<void>((resume) => {
    process.stdin.on("end", () => resume(Effect.void))
    process.stdin.resume()
  })
})

Effect.runPromise(Effect.scoped(main)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
