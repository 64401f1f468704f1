import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope, TestClock } from "effect"
import { ActorSystem, Remoting, Transport } from "../../src/index.js"
import { Counter, GetCount, Increment } from "./fixtures.js"

/** A node on `transport`, closed with the test's scope. */
const node = (name: string, transport: Transport.Service) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(
      Remoting.layer({ kinds: [Counter], askTimeout: "1 second" }).pipe(
        Layer.provide(Layer.succeed(Transport.Transport, transport)),
        Layer.provideMerge(ActorSystem.layer({ name }))
      ),
      scope
    )
    return Context.get(context, Remoting.Remoting)
  })

/** Two nodes sharing one test transport. */
const nodes = Effect.gen(function*() {
  const { controls, transport } = Transport.makeTest()
  return { a: yield* node("a", transport), b: yield* node("b", transport), controls }
})

const at = (remoting: Remoting.Service) => ({ host: "127.0.0.1", port: remoting.port })

describe("H5 test transport", () => {
  it.scopedLive("delays writes, drops them, and partitions a node away", () =>
    Effect.gen(function*() {
      const { a, b, controls } = yield* nodes
      const nodeB = { host: "127.0.0.1", port: b.port }
      const counter = yield* a.spawn(nodeB, Counter, "counter")
      yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* counter.ask(new GetCount())).toBe(1)

      // Delayed writes still arrive (their timing is tested on a TestClock in Timeouts.test.ts).
      controls.delay(50)
      yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* counter.ask(new GetCount())).toBe(2)
      controls.delay(0)

      controls.dropRate(1)
      const lost = yield* Effect.flip(counter.ask(new GetCount(), { timeout: "200 millis" }))
      expect(["AskTimeout", "NodeUnreachable"]).toContain(lost._tag)
      controls.dropRate(0)

      controls.partition("127.0.0.1", b.port)
      const cut = yield* Effect.flip(a.nodeInfo(nodeB))
      expect(cut._tag).toBe("NodeUnreachable")
      expect(cut._tag === "NodeUnreachable" && cut.reason).toMatch(/partitioned|refused lately/)
      controls.heal("127.0.0.1", b.port)
      yield* Effect.sleep("2500 millis") // the refusal backoff after failed connects
      expect((yield* a.nodeInfo(nodeB)).system).toBe("b")
    }), 20_000)

  it.scoped("cuts two nodes apart both ways while both still talk to a third", () =>
    Effect.gen(function*() {
      const { controls, forNode } = Transport.makeTest()
      const a = yield* node("a", forNode())
      const b = yield* node("b", forNode())
      const c = yield* node("c", forNode())
      const systemOf = (from: Remoting.Service, to: Remoting.Service) => Effect.map(from.nodeInfo(at(to)), (i) => i.system)
      expect(yield* systemOf(a, b)).toBe("b")
      expect(yield* systemOf(b, a)).toBe("a")

      controls.cut(at(a), at(b))
      expect((yield* Effect.flip(systemOf(a, b)))._tag).toBe("NodeUnreachable")
      expect((yield* Effect.flip(systemOf(b, a)))._tag).toBe("NodeUnreachable")
      expect(yield* systemOf(a, c)).toBe("c")
      expect(yield* systemOf(b, c)).toBe("c")
      expect(yield* systemOf(c, a)).toBe("a")
      expect(yield* systemOf(c, b)).toBe("b")

      controls.mend(at(a), at(b))
      yield* TestClock.adjust("3 seconds") // past the refusal backoff after the failed connects
      expect(yield* systemOf(a, b)).toBe("b")
      expect(yield* systemOf(b, a)).toBe("a")
    }))
})
