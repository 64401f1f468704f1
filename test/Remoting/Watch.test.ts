import { describe, expect, it } from "@effect/vitest"
import { Effect, Queue } from "effect"
import { ActorSystem, type Pid, Scheduler } from "../../src/index.js"
import {
  Counter,
  GetCount,
  GetTerminated,
  Increment,
  scopedNode,
  startNode,
  Watcher,
  WatchIt
} from "./fixtures.js"

const until = <A, E>(check: Effect.Effect<A, E>, ok: (a: A) => boolean, millis = 8000) =>
  Effect.gen(function*() {
    const deadline = Date.now() + millis
    let last = yield* check
    while (!ok(last) && Date.now() < deadline) {
      yield* Effect.sleep("20 millis")
      last = yield* check
    }
    return last
  })

describe("remote watch", () => {
  it.scopedLive("a local watcher gets Terminated when the remote actor stops", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      const target = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "target")
      const watcher = yield* a.system.spawn(Watcher, "watcher")
      yield* watcher.tell(new WatchIt({ target }))
      yield* Effect.sleep("100 millis")
      yield* b.system.stop("target")
      const terminated = yield* until(watcher.ask(new GetTerminated()), (list) => list.length > 0)
      expect(terminated).toEqual([{ address: target.address.toString(), reason: "Stopped" }])
    }))

  it.scopedLive("watching an actor that is already gone delivers Terminated at once", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      const target = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "target")
      yield* target.stop
      const watcher = yield* a.system.spawn(Watcher, "watcher")
      yield* watcher.tell(new WatchIt({ target }))
      const terminated = yield* until(watcher.ask(new GetTerminated()), (list) => list.length > 0)
      expect(terminated.length).toBe(1)
    }))

  it.scopedLive("a local watcher gets Terminated when the remote node stops answering", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a", { probeInterval: "200 millis", probeTimeout: "500 millis" })
      const b = yield* startNode("b")
      const target = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "target")
      const watcher = yield* a.system.spawn(Watcher, "watcher")
      yield* watcher.tell(new WatchIt({ target }))
      yield* Effect.sleep("100 millis")
      yield* b.close
      const terminated = yield* until(watcher.ask(new GetTerminated()), (list) => list.length > 0)
      expect(terminated.length).toBe(1)
      expect(terminated[0]?.address).toBe(target.address.toString())
      expect(terminated[0]?.reason).toMatch(/NodeUnreachable/)
    }))

  it.scopedLive("a remote actor watches a local one across nodes (Terminated sent back over the wire)", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      // The watcher lives on b; the target on a, reached through a remote PID from b.
      const watcher = yield* b.system.spawn(Watcher, "watcher")
      yield* a.system.spawn(Counter, "target")
      const target = yield* b.remoting.lookup({ host: "127.0.0.1", port: a.port, name: "target" })
      yield* watcher.tell(new WatchIt({ target: target._tag === "Some" ? target.value : undefined }))
      yield* Effect.sleep("100 millis")
      yield* a.system.kill("target")
      const terminated = yield* until(watcher.ask(new GetTerminated()), (list) => list.length > 0)
      expect(terminated[0]?.reason).toBe("Killed")
    }))
})

describe("G2 remote scheduling", () => {
  it.scopedLive("the scheduler delivers to a remote PID", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      const counter = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "counter")
      const schedulerService = yield* Scheduler.make.pipe(Effect.provideService(ActorSystem.ActorSystem, a.system))
      yield* schedulerService.scheduleOnce(new Increment({ by: 7 }), counter as Pid.Pid<Increment>, "50 millis")
      const count = yield* until(counter.ask(new GetCount()), (n) => n === 7)
      expect(count).toBe(7)
    }))

  it.scopedLive("a schedule whose remote target stops is cancelled (ScheduleCancelled, TargetStopped)", () =>
    Effect.gen(function*() {
      const a = yield* scopedNode("a")
      const b = yield* scopedNode("b")
      const counter = yield* a.remoting.spawn({ host: "127.0.0.1", port: b.port }, Counter, "counter")
      const events = yield* a.system.subscribe
      const scheduler = yield* Scheduler.make.pipe(Effect.provideService(ActorSystem.ActorSystem, a.system))
      const handle = yield* scheduler.schedule(new Increment({ by: 1 }), counter as Pid.Pid<Increment>, "30 millis")
      yield* until(counter.ask(new GetCount()), (n) => n >= 2)
      yield* b.system.stop("counter")
      const cancelled = yield* Queue.take(events).pipe(
        Effect.repeat({ until: (e) => e._tag === "ScheduleCancelled" }),
        Effect.timeout("5 seconds")
      )
      expect(cancelled._tag === "ScheduleCancelled" && cancelled.reason).toBe("TargetStopped")
      expect(cancelled._tag === "ScheduleCancelled" && cancelled.reference).toBe(handle.reference)
      expect((yield* scheduler.list).length).toBe(0)
    }))
})
