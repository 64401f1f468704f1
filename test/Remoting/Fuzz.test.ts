import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import fc from "fast-check"
import { Packr } from "msgpackr"
import * as Codec from "../../src/Remoting/Codec.js"
import { Append, Counter, GetList, Increment, scopedNode } from "./fixtures.js"
import { FrameType, openAuthenticated, openSocket, rawFrame } from "./wire.js"

const packr = new Packr({ useRecords: false })
const validAppend = Either.getOrThrow(Codec.encodeMessage(new Append({ n: -1 })))
const withId = (id: number, value: unknown) => {
  const body = packr.pack(value)
  const out = Buffer.allocUnsafe(4 + body.length)
  out.writeUInt32BE(id >>> 0, 0)
  out.set(body, 4)
  return out
}

/** Frames of every kind of bad, sent after a valid handshake. */
const badFrame: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 200 })).map(([type, body]) => rawFrame(type, body)),
  fc.anything().map((value) => rawFrame(FrameType.Tells, packr.pack(value))),
  fc.tuple(fc.nat(), fc.anything()).map(([id, value]) => rawFrame(FrameType.Ask, withId(id, value))),
  fc.tuple(fc.nat(), fc.anything()).map(([id, message]) =>
    rawFrame(FrameType.Ask, withId(id, ["target", "junk", message, 50]))
  ),
  fc.tuple(fc.nat(), fc.anything()).map(([id, value]) => rawFrame(FrameType.Control, withId(id, value))),
  fc.anything().map((from) => rawFrame(FrameType.Tells, packr.pack(["target", String(from), [validAppend, from]]))),
  fc.nat({ max: 40 }).map((cut) => rawFrame(FrameType.Ask, withId(1, ["target", "", validAppend, 50])).subarray(0, cut))
)

describe("H2 no input can crash the server", () => {
  it.scopedLive("10,000 random and truncated frames while well-formed traffic flows", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const a = yield* scopedNode("a")
      const node = { host: "127.0.0.1", port: b.port }
      yield* b.system.spawn(Counter, "target")
      const counter = yield* a.remoting.spawn(node, Counter, "counter")

      const frames = fc.sample(badFrame, { numRuns: 10_000, seed: 5 })
      const workers = 20
      // A connection that sends a malformed frame is closed: each worker opens a fresh one per burst.
      const fuzz = Effect.forEach(
        Array.from({ length: workers }, (_, i) => i),
        (i) =>
          Effect.gen(function*() {
            for (let j = i; j < frames.length; j += workers * 25) {
              const socket = yield* Effect.either(j % 2 === 0 ? openAuthenticated(b.port) : openSocket(b.port))
              if (Either.isLeft(socket)) continue
              for (let k = j; k < Math.min(frames.length, j + workers * 25); k += workers) socket.right.write(frames[k]!)
              yield* Effect.sleep("2 millis")
              socket.right.destroy()
            }
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
      const stats = yield* b.remoting.stats
      expect(stats.malformed).toBeGreaterThan(100)
      // A fresh connection works too.
      const fresh = yield* scopedNode("c")
      expect((yield* fresh.remoting.nodeInfo(node)).actors).toBe(2)
    }), 60_000)
})
