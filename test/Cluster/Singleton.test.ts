/**
 * Cluster singletons (issue 10, item 6; FEATURES I9): several nodes in one
 * process over one memory store, under TestClock. Each node's singletons
 * spawn into its own actor system; references resolve a name through the
 * store's row to the system of the node that holds it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Ref, Scope, TestClock } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Singleton from "../../src/Cluster/internal/singleton.js"
import { ActorNotFound } from "../../src/Errors.js"
import { ActorSystem, type Pid } from "../../src/index.js"
import type { AnyDefinition } from "../../src/internal/system.js"
import type { Tagged } from "../../src/Message.js"
import { GetCount, Increment } from "../helpers.js"
import { type SeatNode, startSeat } from "./singletonSeats.js"
import { Counter } from "./support.js"

const counter = Counter as unknown as AnyDefinition

interface Node extends SeatNode {
  readonly system: ActorSystem.Service
  readonly singletons: Singleton.Singletons
}

const cluster = Effect.gen(function*() {
  const store = yield* ClusterStore.makeMemory
  const nodes = new Map<string, Node>()
  /** The holder's PID: the row's owner, then that node's system. */
  const pid = (name: string): Effect.Effect<Pid.Pid, ActorNotFound> =>
    Effect.flatMap(Effect.orDie(store.lookup([name])), (rows) => {
      const row = rows.get(name)
      const holder = row === undefined || !row.live ? undefined : nodes.get(row.owner.nodeId)
      if (holder === undefined) return Effect.fail(new ActorNotFound({ actorName: name }))
      return Effect.flatMap(holder.system.lookup(name), (found) =>
        Option.isSome(found) ? Effect.succeed(found.value) : Effect.fail(new ActorNotFound({ actorName: name })))
    })
  const resolver: Singleton.Host["resolver"] = {
    pid,
    tell: (name, message) => Effect.flatMap(pid(name), (found) => found.tell(message)),
    ask: (name, message, options) =>
      Effect.flatMap(pid(name), (found) => (found as Pid.Pid<Tagged & never>).ask(message as never, options))
  }
  const start = (id: string, kinds: ReadonlyArray<string> = ["Counter"]) =>
    Effect.gen(function*() {
      const seat = yield* startSeat(store, id, kinds)
      const system = yield* Scope.extend(ActorSystem.make({ name: id }), seat.scope).pipe(Effect.orDie)
      const singletons = yield* Scope.extend(
        Singleton.make({
          seat: seat.seat,
          system: id,
          resolver
        }),
        seat.scope
      )
      const node: Node = { ...seat, system, singletons }
      nodes.set(id, node)
      return node
    })
  /** The nodes that run an instance of `name` right now. */
  const running = (name: string) =>
    Effect.map(
      Effect.forEach([...nodes.values()], (node) => Effect.map(node.system.lookup(name), (pid) => [node.id, pid] as const)),
      (found) => found.filter(([, pid]) => Option.isSome(pid)).map(([id]) => id)
    )
  yield* Effect.addFinalizer(() => Effect.forEach([...nodes.values()], (node) => Scope.close(node.scope, Exit.void)))
  return { store, start, running }
})

/** Declares a singleton on a node; its instance spawns into the node's system. */
const declare = (node: Node, def: AnyDefinition, name: string) =>
  node.singletons.singleton(def, name, undefined, () => node.system.spawn(def as unknown as typeof Counter, name))

describe("I9 cluster singletons", () => {
  it.scoped("declared on 3 nodes, it runs once, on the oldest, and every node's reference reaches it", () =>
    Effect.gen(function*() {
      const { running, start } = yield* cluster
      const nodes = [yield* start("a"), yield* start("b"), yield* start("c")]
      const refs = yield* Effect.forEach(nodes, (node) => declare(node, counter, "leader"))
      yield* TestClock.adjust("1 second")
      expect(yield* running("leader")).toEqual(["a"])
      for (const ref of refs) yield* ref.tell(new Increment({ by: 1 }))
      expect(yield* refs[2]!.ask(new GetCount() as never)).toBe(3) // three refs, declared above
    }))

  it.scoped("is idempotent per name, and refuses one name declared as two kinds", () =>
    Effect.gen(function*() {
      const { start } = yield* cluster
      const a = yield* start("a", ["Counter", "Other"])
      const first = yield* declare(a, counter, "leader")
      const again = yield* declare(a, counter, "leader")
      expect(again).toBe(first)
      const other = { ...counter, kind: "Other" } as AnyDefinition
      const refused = yield* Effect.flip(declare(a, other, "leader"))
      expect(refused._tag).toBe("InvalidArgument")
      // Keyed by name, not by kind: a second name of the same kind is a second singleton.
      yield* declare(a, counter, "auditor")
      expect(a.singletons.declared()).toEqual(["leader", "auditor"])
    }))

  it.scoped("runs on the oldest node that has the kind", () =>
    Effect.gen(function*() {
      const { running, start } = yield* cluster
      const nodes = [yield* start("a", []), yield* start("b"), yield* start("c")]
      for (const node of nodes) yield* declare(node, counter, "leader")
      yield* TestClock.adjust("1 second")
      expect(yield* running("leader")).toEqual(["b"])
    }))

  it.scoped("moves to the next oldest when its node dies: taken over from the stale row, never two at once", () =>
    Effect.gen(function*() {
      const { running, start, store } = yield* cluster
      const nodes = [yield* start("a"), yield* start("b"), yield* start("c")]
      const refs = yield* Effect.forEach(nodes, (node) => declare(node, counter, "leader"))
      yield* TestClock.adjust("1 second")
      yield* refs[1]!.tell(new Increment({ by: 5 })) // three refs, declared above
      yield* nodes[0]!.crash // its instance goes without giving the row back (three nodes above)
      const row = (yield* store.lookup(["leader"])).get("leader")
      expect(row?.owner.nodeId).toBe("a")
      const seen: Array<ReadonlyArray<string>> = []
      for (let second = 0; second < 12; second++) {
        yield* TestClock.adjust("1 second")
        seen.push(yield* running("leader"))
      }
      expect(seen.every((ids) => ids.length <= 1)).toBe(true)
      expect(seen.at(-1)).toEqual(["b"])
      expect((yield* store.lookup(["leader"])).get("leader")?.owner.nodeId).toBe("b")
      // A fresh instance (fresh state), reached by the survivors' references.
      expect(yield* refs[2]!.ask(new GetCount() as never)).toBe(0)
    }))

  it.scoped("hands over within a look when its node stops gracefully", () =>
    Effect.gen(function*() {
      const { running, start } = yield* cluster
      const nodes = [yield* start("a"), yield* start("b"), yield* start("c")]
      for (const node of nodes) yield* declare(node, counter, "leader")
      yield* TestClock.adjust("1 second")
      yield* nodes[0]!.stop // three nodes above
      // Well inside the 5 s lease: the row was given back, not left to expire.
      yield* TestClock.adjust("500 millis")
      expect(yield* running("leader")).toEqual(["b"])
    }))

  it.scoped("a suspended node stops its instance, and runs it again when it resumes", () =>
    Effect.gen(function*() {
      const { running, start } = yield* cluster
      const nodes = [yield* start("a"), yield* start("b")]
      for (const node of nodes) yield* declare(node, counter, "leader")
      yield* TestClock.adjust("1 second")
      expect(yield* running("leader")).toEqual(["a"])
      const a = nodes[0]! // two nodes above
      const incarnation = yield* a.self
      yield* Ref.set(a.self, Option.none())
      yield* TestClock.adjust("1 second")
      // "a" is still the oldest live member (its lease holds), so "b" may not run it: none runs.
      expect(yield* running("leader")).toEqual([])
      yield* Ref.set(a.self, incarnation)
      yield* TestClock.adjust("1 second")
      expect(yield* running("leader")).toEqual(["a"])
    }))
})
