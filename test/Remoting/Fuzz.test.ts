import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import fc from "fast-check"
import { Packr } from "msgpackr"
import * as Net from "node:net"
import * as Codec from "../../src/Remoting/Codec.js"
import { Append, Counter, GetList, Increment, scopedNode } from "./fixtures.js"

// The serialiser the rpc layer uses on sockets (msgpack with records).
const packr = new Packr({ useRecords: true })

const request = (id: number, tag: string, payload: unknown) =>
  packr.pack({ _tag: "Request", id: String(id), tag, payload, headers: [] })

const validAppend = Either.getOrThrow(Codec.encodeMessage(new Append({ n: -1 })))

/** Frames of every kind of bad: random bytes, random values, truncated and ill-typed requests. */
const badFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }),
  fc.anything().map((value) => packr.pack(value)),
  fc.tuple(fc.nat(), fc.constantFrom("Deliver", "Ask", "Lookup", "Spawn", "Stop", "Watch", "Nope"), fc.anything())
    .map(([id, tag, payload]) => request(id, tag, payload)),
  fc.tuple(fc.nat(), fc.uint8Array({ maxLength: 200 }))
    .map(([id, bytes]) => request(id, "Deliver", { batch: bytes })),
  fc.tuple(fc.nat(), fc.anything())
    .map(([id, message]) => request(id, "Ask", { to: "target", from: "junk", message, timeoutMillis: 50 })),
  fc.tuple(fc.nat(), fc.anything())
    .map(([id, from]) =>
      request(id, "Deliver", { batch: Codec.encodeBatch([{ to: "target", from: String(from), messages: [validAppend, from] }]) })
    ),
  fc.tuple(fc.nat(), fc.nat({ max: 40 }))
    .map(([id, cut]) => request(id, "Ask", { to: "target", from: "", message: validAppend, timeoutMillis: 50 }).slice(0, cut))
)

const openSocket = (port: number) =>
  Effect.async<Net.Socket, Error>((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.on("error", () => {})
    socket.once("connect", () => resume(Effect.succeed(socket)))
    // Answers (defects, errors) are read and dropped.
    socket.on("data", () => {})
  })

describe("H2 no input can crash the server", () => {
  it.scopedLive("10,000 random and truncated frames while well-formed traffic flows", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const a = yield* scopedNode("a")
      const node = { host: "127.0.0.1", port: b.port }
      yield* b.system.spawn(Counter, "target")
      const counter = yield* a.remoting.spawn(node, Counter, "counter")

      const frames = fc.sample(badFrame, { numRuns: 10_000, seed: 5 })
      const sockets = 50
      const fuzz = Effect.forEach(
        Array.from({ length: sockets }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            const socket = yield* openSocket(b.port)
            for (let j = i; j < frames.length; j += sockets) {
              socket.write(frames[j]!)
              if (j % 500 === i) yield* Effect.sleep("1 millis")
            }
            yield* Effect.sleep("50 millis")
            socket.destroy()
          }),
        { concurrency: "unbounded", discard: true }
      )
      const good = Effect.gen(function*() {
        for (let i = 0; i < 5000; i++) {
          yield* counter.tell(new Append({ n: i }))
          if (i % 250 === 0) yield* Effect.sleep("1 millis")
        }
        yield* counter.tell(new Increment({ by: 1 }))
      })
      yield* Effect.all([fuzz, good], { concurrency: "unbounded", discard: true })

      // The node still answers, and every well-formed message arrived in order.
      const list = yield* counter.ask(new GetList(), { timeout: "10 seconds" })
      expect(list.length).toBe(5000)
      expect(list.every((value, i) => value === i)).toBe(true)
      const info = yield* a.remoting.nodeInfo(node)
      expect(info.system).toBe("b")
      expect(Option.isSome(yield* a.remoting.lookup({ ...node, name: "target" }))).toBe(true)
      // A fresh connection works too.
      const fresh = yield* scopedNode("c")
      expect((yield* fresh.remoting.nodeInfo(node)).actors).toBe(2)
    }), 60_000)
})
