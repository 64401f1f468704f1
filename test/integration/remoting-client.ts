/**
 * A well-behaved client in its own OS process, for the hostile-peer suite:
 * asks the node's `counter` one ask at a time (2 ms apart) until stdin ends,
 * then prints `{"asks":N,"failures":N,"p50":ms,"p99":ms}` (its own process,
 * so the attacker's work does not delay its event loop).
 */
import { Effect, Either } from "effect"
import { RemoteClient } from "../../src/index.js"
import { GetCount } from "../Remoting/fixtures.js"

const port = Number(process.argv[2])
const token = process.argv[3]

const main = Effect.gen(function*() {
  const client = yield* RemoteClient.make({ ...(token === undefined ? {} : { token }), askTimeout: "5 seconds" })
  const counter = { host: "127.0.0.1", port, name: "counter" }
  const samples: Array<number> = []
  let failures = 0
  let running = true
  process.stdin.on("end", () => {
    running = false
  })
  process.stdin.resume()
  process.stdout.write("ready\n")
  while (running) {
    const t = performance.now()
    const result = yield* Effect.either(client.ask(counter, new GetCount()))
    if (Either.isLeft(result)) failures++
    else {
      const took = performance.now() - t
      samples.push(took)
      if (took > 30 && process.env.SLOW_ASKS !== undefined) console.error(`slow ask ${took.toFixed(0)} ms at ${Date.now() % 100000}`)
    }
    yield* Effect.sleep("2 millis")
  }
  samples.sort((a, b) => a - b)
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Infinity
  process.stdout.write(`${JSON.stringify({ asks: samples.length, failures, p50: at(0.5), p99: at(0.99) })}\n`)
})

Effect.runPromise(Effect.scoped(main)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
