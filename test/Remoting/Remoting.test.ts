import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Option, Queue, Stream } from "effect"
import { ActorSystem, type Pid, RemoteClient, Remoting } from "../../src/index.js"
import {
  Append,
  Counter,
  Divide,
  DivisionByZero,
  GetCount,
  GetList,
  GetPongs,
  Increment,
  Pinger,
  Ping,
  Ponger,
  scopedNode,
  SendPing,
  Sleep
} from "./fixtures.js"

const until = <A, E>(check: Effect.Effect<A, E>, ok: (a: A) => boolean, millis = 5000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    let last = yield* check
    while (!ok(last) && Date.now() < deadline) {
      yield* Effect.sleep("10 millis")
      last = yield* check
    }
    return last
  })

describe("H1 remote spawn, lookup, tell, ask, stop", () => {
  it.scopedLive("spawns a registered kind on another node and talks to it", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      const nodeB = { host: "127.0.0.1", port: b.port }

      expect(yield* a.remoting.lookup({ ...nodeB, name: "counter" })).toEqual(Option.none())
      const counter = yield* a.remoting.spawn(nodeB, Counter, "counter")
      expect(counter.address.toString()).toBe(`effect-actors://b@127.0.0.1:${b.port}/counter`)
      yield* counter.tell(new Increment({ by: 2 }))
      yield* counter.tell(new Increment({ by: 3 }))
      expect(yield* counter.ask(new GetCount())).toBe(5)

      // The same actor, found by address, typed by its definition.
      const found = yield* a.remoting.lookup(counter.address.toString(), Counter)
      expect(Option.isSome(found)).toBe(true)
      const same = Option.getOrThrow(found)
      expect(yield* same.ask(new Divide({ dividend: 9, divisor: 3 }))).toBe(3)
      // A typed failure of the request comes back as itself.
      const failed = yield* Effect.flip(same.ask(new Divide({ dividend: 1, divisor: 0 })))
      expect(failed).toBeInstanceOf(DivisionByZero)
      expect(failed).toEqual(new DivisionByZero({ dividend: 1 }))
      // The local view on node b agrees.
      const local = Option.getOrThrow(yield* b.system.lookup("counter")) as Pid.Pid<GetCount>
      expect(yield* local.ask(new GetCount())).toBe(5)

      // system.remoteLookup works the same way.
      const viaSystem = yield* a.system.remoteLookup({ ...nodeB, name: "counter" })
      expect(Option.isSome(viaSystem)).toBe(true)
      expect(yield* a.system.remoteLookup({ ...nodeB, name: "nobody" })).toEqual(Option.none())

      const info = yield* a.remoting.nodeInfo(nodeB)
      expect(info.system).toBe("b")
      expect(info.actors).toBe(1)
      expect([...info.kinds].sort()).toEqual(["Counter", "Ponger"])

      yield* counter.stop
      expect(yield* counter.isAlive).toBe(false)
      expect(yield* a.remoting.lookup({ ...nodeB, name: "counter" })).toEqual(Option.none())
      const afterStop = yield* Effect.flip(counter.ask(new GetCount()))
      expect(afterStop._tag).toBe("ActorNotFound")
    }))

  it.scopedLive("refuses what it cannot do with typed errors", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a", { kinds: [] })
      const b = yield* scopedNode("b", { kinds: [Counter] })
      const nodeA = { host: "127.0.0.1", port: a.port }
      const nodeB = { host: "127.0.0.1", port: b.port }

      const notRegistered = yield* Effect.flip(b.remoting.spawn(nodeA, Counter, "counter"))
      expect(notRegistered._tag).toBe("KindNotRegistered")
      expect(notRegistered).toMatchObject({ kind: "Counter" })

      yield* a.remoting.spawn(nodeB, "Counter", "c1")
      const taken = yield* Effect.flip(a.remoting.spawn(nodeB, "Counter", "c1"))
      expect(taken._tag).toBe("NameTaken")
      const invalid = yield* Effect.flip(a.remoting.spawn(nodeB, "Counter", "bad name"))
      expect(invalid._tag).toBe("InvalidName")

      const stopMissing = yield* Effect.flip(a.remoting.stop({ ...nodeB, name: "nobody" }))
      expect(stopMissing._tag).toBe("ActorNotFound")

      // Nobody listens on this port (it was a node that stopped).
      const gone = yield* scopedNode("gone")
      const gonePort = gone.port
      yield* gone.close
      const unreachable = yield* Effect.flip(a.remoting.lookup({ host: "127.0.0.1", port: gonePort, name: "x" }))
      expect(unreachable._tag).toBe("NodeUnreachable")

      // An untyped PID sending a message the actor does not speak: DecodeError, and a deadletter there.
      const untyped = Option.getOrThrow(yield* a.remoting.lookup({ ...nodeB, name: "c1" }))
      const events = yield* b.system.subscribe
      const decodeError = yield* Effect.flip(untyped.ask(new Ping({ n: 1 }) as never))
      expect(decodeError._tag).toBe("DecodeError")
      const deadletter = yield* Queue.take(events).pipe(
        Effect.repeat({ until: (event) => event._tag === "Deadletter" })
      )
      expect(deadletter._tag).toBe("Deadletter")

      // A typed PID refuses a message outside the protocol before sending it.
      const typed = Option.getOrThrow(yield* a.remoting.lookup({ ...nodeB, name: "c1" }, Counter))
      const refused = yield* Effect.flip(typed.tell(new Ping({ n: 1 }) as never))
      expect(refused._tag).toBe("UnknownMessage")

      // A wrong target node: the address names another system than the one listening there.
      const stale = yield* Remoting.pid(`effect-actors://other@127.0.0.1:${b.port}/c1`, Counter).pipe(
        Effect.provideService(ActorSystem.ActorSystem, a.system)
      )
      const wrongNode = yield* Effect.flip(stale.ask(new GetCount()))
      expect(wrongNode._tag).toBe("ActorNotFound")
      yield* stale.tell(new Increment({ by: 1 }))
      const wrongDeadletter = yield* Queue.take(events).pipe(
        Effect.repeat({
          until: (event) => event._tag === "Deadletter" && event.reason.startsWith("wrong target node")
        })
      )
      expect(wrongDeadletter._tag).toBe("Deadletter")

      // A remote ask that outlives its timeout.
      const timeout = yield* Effect.flip(typed.ask(new Sleep({ millis: 300 }), { timeout: "100 millis" }))
      expect(timeout._tag).toBe("AskTimeout")
    }), 20_000)

  it.scopedLive("keeps the order of a burst of tells and batches them", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a", { maxBatch: 512, maxPending: 2048 })
      const b = yield* scopedNode("b")
      const counter = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "ordered")
      const n = 20_000
      for (let i = 0; i < n; i++) yield* counter.tell(new Append({ n: i }))
      const list = yield* counter.ask(new GetList())
      expect(list.length).toBe(n)
      expect(list.every((value, i) => value === i)).toBe(true)
    }), 20_000)

  it.scopedLive("carries the sender across nodes so replies come back", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      const ponger = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Ponger, "ponger")
      const pinger = yield* a.system.spawn(Pinger, "pinger")
      for (let i = 0; i < 5; i++) yield* pinger.tell(new SendPing({ to: ponger, n: i }))
      const pongs = yield* until(pinger.ask(new GetPongs()), (p) => p.length === 5)
      expect(pongs).toEqual([0, 1, 2, 3, 4])
    }))
})

describe("RemoteClient", () => {
  it.scopedLive("tells, asks, looks up, spawns and stops without an actor system", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const client = yield* RemoteClient.make({ askTimeout: "2 seconds" })
      const nodeB = { host: "127.0.0.1", port: b.port }
      const pid = yield* client.spawn(nodeB, Counter, "counter")
      const address = { ...nodeB, name: "counter" }
      yield* client.tell(address, new Increment({ by: 4 }))
      expect(yield* client.ask(address, new GetCount())).toBe(4)
      expect(yield* (pid as Pid.Pid<GetCount>).ask(new GetCount())).toBe(4)
      expect(Option.isSome(yield* client.lookup(address))).toBe(true)
      const missing = yield* Effect.flip(client.ask({ ...nodeB, name: "nobody" }, new GetCount()))
      expect(missing._tag).toBe("ActorNotFound")
      yield* client.stop(address)
      expect(yield* client.lookup(address)).toEqual(Option.none())
      const bad = yield* Effect.either(client.tell("not an address", new Increment({ by: 1 })))
      expect(Either.isLeft(bad) && bad.left._tag).toBe("InvalidArgument")
    }))
})

describe("events", () => {
  it.scopedLive("a tell to a missing actor is a deadletter on the receiving node", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b")
      const client = yield* RemoteClient.make()
      const deadletters = yield* Effect.fork(
        b.system.events.pipe(Stream.filter((e) => e._tag === "Deadletter"), Stream.take(1), Stream.runCollect)
      )
      yield* Effect.sleep("20 millis")
      yield* client.tell({ host: "127.0.0.1", port: b.port, name: "nobody" }, new Increment({ by: 1 }))
      const exit = yield* deadletters.await
      expect(Exit.isSuccess(exit)).toBe(true)
    }))
})
