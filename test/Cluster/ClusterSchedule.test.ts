import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Scope, TestClock } from "effect"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import { rowName, uniqueness } from "../../src/Cluster/internal/clusterSchedule.js"
import { ActorSystem, Scheduler } from "../../src/index.js"
import { GetTicks, makeRecorder, Tick } from "../fixtures/recorder.js"
import { type SeatNode, startSeat } from "./singletonSeats.js"

const Recorder = makeRecorder({ passivateAfter: "never" })

/** A node: its seat plus an actor system and a scheduler made cluster-unique by the seat. */
const startNode = (store: ClusterStore.Service, id: string) =>
  Effect.gen(function*() {
    const node = yield* startSeat(store, id)
    const scheduler = yield* Scheduler.make.pipe(
      Effect.provide(
        Layer.merge(
          ActorSystem.layer({ name: id }),
          Layer.succeed(Scheduler.Uniqueness, uniqueness(node.seat))
        )
      ),
      Scope.extend(node.scope)
    )
    return { ...node, scheduler }
  })

const setup = (count: number) =>
  Effect.gen(function*() {
    const store = yield* ClusterStore.makeMemory
    const sink = yield* ActorSystem.make({ name: "sink" })
    const recorder = yield* sink.spawn(Recorder, "recorder")
    const nodes: Array<SeatNode & { readonly scheduler: Scheduler.Service }> = []
    for (let i = 0; i < count; i++) nodes.push(yield* startNode(store, `n${i}`))
    return { store, recorder, nodes, ticks: recorder.ask(new GetTicks()) }
  })

const ownerOf = (store: ClusterStore.Service, reference: string) =>
  Effect.map(store.lookup([rowName(reference)]), (rows) => rows.get(rowName(reference))?.owner.nodeId)

describe("G3 cluster-unique schedules", () => {
  it.scoped("a cron schedule declared on 3 nodes fires once per tick: 10 ticks, 10 deliveries", () =>
    Effect.gen(function*() {
      const { nodes, recorder, ticks } = yield* setup(3)
      for (const node of nodes) {
        yield* node.scheduler.scheduleCron(new Tick(), recorder, "* * * * * *", { reference: "every-second" })
      }
      yield* TestClock.adjust("10 seconds")
      expect(yield* ticks).toEqual(Array.from({ length: 10 }, (_, i) => (i + 1) * 1000))
      // Every node timed it and still lists it; one delivered each tick.
      for (const node of nodes) {
        const [info] = yield* node.scheduler.list
        expect(info?.reference).toBe("every-second")
      }
      const fired = yield* Effect.forEach(nodes, (node) => Effect.map(node.scheduler.list, ([info]) => info?.fired ?? 0))
      expect(fired.reduce((a, b) => a + b, 0)).toBe(10)
    }))

  it.scoped("without an explicit reference, a schedule stays local: every node delivers", () =>
    Effect.gen(function*() {
      const { nodes, recorder, ticks } = yield* setup(2)
      for (const node of nodes) yield* node.scheduler.schedule(new Tick(), recorder, "1 second")
      yield* TestClock.adjust("3 seconds")
      expect(yield* ticks).toEqual([1000, 1000, 2000, 2000, 3000, 3000])
    }))

  it.scoped("an interval schedule is held by one node, and continues in phase on another when its owner dies", () =>
    Effect.gen(function*() {
      const { nodes, recorder, store, ticks } = yield* setup(3)
      for (const node of nodes) yield* node.scheduler.schedule(new Tick(), recorder, "1 second", { reference: "beat" })
      yield* TestClock.adjust("5 seconds")
      expect(yield* ticks).toEqual([1000, 2000, 3000, 4000, 5000])
      const owner = yield* ownerOf(store, "beat")
      const victim = nodes.find((node) => node.id === owner)
      expect(victim).toBeDefined()
      yield* victim!.crash // found just above
      // Its lease (5 s) expires, a survivor marks it dead, another survivor adopts the schedule.
      yield* TestClock.adjust("15 seconds")
      const times = yield* ticks
      const next = yield* ownerOf(store, "beat")
      expect(next).not.toBe(owner)
      expect(nodes.some((node) => node.id === next)).toBe(true)
      // Beats went on: no tick twice, all on the original phase, the last one on time.
      expect(new Set(times).size).toBe(times.length)
      expect(times.every((t) => t % 1000 === 0)).toBe(true)
      expect(times.at(-1)).toBe(20000)
      // Lost beats are only those of the failover window (lease + reaping + one look).
      const missed = Array.from({ length: 20 }, (_, i) => (i + 1) * 1000).filter((t) => !times.includes(t))
      expect(missed.every((t) => t > 5000 && t <= 5000 + 7000)).toBe(true)
    }))

  it.scoped("a graceful stop hands an interval schedule over within one look", () =>
    Effect.gen(function*() {
      const { nodes, recorder, store, ticks } = yield* setup(2)
      for (const node of nodes) yield* node.scheduler.schedule(new Tick(), recorder, "1 second", { reference: "beat" })
      yield* TestClock.adjust("3 seconds")
      const holder = yield* ownerOf(store, "beat")
      yield* nodes.find((node) => node.id === holder)!.stop // a holder exists: the beats were delivered
      yield* TestClock.adjust("3 seconds")
      expect(yield* ticks).toEqual([1000, 2000, 3000, 4000, 5000, 6000])
      expect(yield* ownerOf(store, "beat")).not.toBe(holder)
    }))

  it.scoped("a one-shot fires once cluster-wide, and not again when its holder dies after firing", () =>
    Effect.gen(function*() {
      const { nodes, recorder, store, ticks } = yield* setup(3)
      for (const node of nodes) yield* node.scheduler.scheduleOnce(new Tick(), recorder, "2 seconds", { reference: "once" })
      yield* TestClock.adjust("3 seconds")
      expect(yield* ticks).toEqual([2000])
      const holder = yield* ownerOf(store, "once")
      yield* nodes.find((node) => node.id === holder)!.crash // the fired one-shot keeps its row
      yield* TestClock.adjust("20 seconds")
      expect(yield* ticks).toEqual([2000])
    }))

  it.scoped("a one-shot that fired stays fired even when its row is deleted and a survivor claims it afresh", () =>
    Effect.gen(function*() {
      const { nodes, recorder, store, ticks } = yield* setup(2)
      // Declared a little later on the second node: its own instant differs.
      yield* nodes[0]!.scheduler.scheduleOnce(new Tick(), recorder, "2 seconds", { reference: "once" })
      yield* TestClock.adjust("500 millis")
      yield* nodes[1]!.scheduler.scheduleOnce(new Tick(), recorder, "2 seconds", { reference: "once" })
      yield* TestClock.adjust("3 seconds")
      expect(yield* ticks).toEqual([2000])
      const row = (yield* store.lookup([rowName("once")])).get(rowName("once"))!
      yield* nodes[0]!.crash
      // The redeployment of a dead node deletes its rows that do not relocate.
      yield* TestClock.adjust("10 seconds")
      yield* store.release(row.name, row.fence)
      yield* TestClock.adjust("10 seconds")
      expect(yield* ticks).toEqual([2000])
    }))

  it.scoped("a one-shot whose holder dies before its instant fires on a survivor, once", () =>
    Effect.gen(function*() {
      const { nodes, recorder, store, ticks } = yield* setup(3)
      for (const node of nodes) yield* node.scheduler.scheduleOnce(new Tick(), recorder, "30 seconds", { reference: "later" })
      yield* TestClock.adjust("1 second")
      const holder = yield* ownerOf(store, "later")
      yield* nodes.find((node) => node.id === holder)!.crash // someone claimed it at once
      yield* TestClock.adjust("40 seconds")
      expect(yield* ticks).toEqual([30000])
    }))

  it.scoped("a tick the store cannot answer is skipped, never delivered twice", () =>
    Effect.gen(function*() {
      const { nodes, recorder, ticks } = yield* setup(2)
      for (const node of nodes) {
        yield* node.scheduler.scheduleCron(new Tick(), recorder, "* * * * * *", { reference: "every-second" })
      }
      yield* TestClock.adjust("2 seconds")
      for (const node of nodes) yield* node.faults.set({ fail: true, operations: ["claimTick"] })
      yield* TestClock.adjust("2 seconds")
      for (const node of nodes) yield* node.faults.set({})
      yield* TestClock.adjust("2 seconds")
      expect(yield* ticks).toEqual([1000, 2000, 5000, 6000])
    }))
})
