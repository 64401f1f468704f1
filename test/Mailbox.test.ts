import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Schema } from "effect"
import { Actor, ActorSystem, Mailbox } from "../src/index.js"
import { drainEvents, ofTag } from "./helpers.js"

class Hold extends Schema.TaggedClass<Hold>()("Hold", {}) {}
class Item extends Schema.TaggedClass<Item>()("Item", { prio: Schema.Number, id: Schema.String }) {}
/** Answers how many items were handled. */
class Probe extends Schema.TaggedRequest<Probe>()("Probe", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

/**
 * Blocks in `Hold` until `gate` opens, so that the test can fill its mailbox
 * while it is busy; records the ids of the items it handles in `seen`.
 */
const gated = (
  entered: Deferred.Deferred<void>,
  gate: Deferred.Deferred<void>,
  seen: Array<string>,
  options: Actor.SpawnOptions = {}
) =>
  Actor.make("Gated", {
    protocol: [Hold, Item, Probe],
    receive: {
      Hold: () => Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(gate)),
      Item: (msg) => Effect.sync(() => void seen.push(msg.id)),
      Probe: () => Effect.sync(() => seen.length)
    },
    ...options
  })

const spawnGated = (
  system: ActorSystem.Service,
  options: { readonly definition?: Actor.SpawnOptions; readonly spawn?: Actor.SpawnOptions }
) =>
  Effect.gen(function*() {
    const entered = yield* Deferred.make<void>()
    const gate = yield* Deferred.make<void>()
    const seen: Array<string> = []
    const pid = yield* system.spawn(gated(entered, gate, seen, options.definition), "gated", options.spawn)
    yield* pid.tell(new Hold())
    yield* Deferred.await(entered)
    return { gate, pid, seen }
  })

type GatedPid = Effect.Effect.Success<ReturnType<typeof spawnGated>>["pid"]

/**
 * Spawns a gated actor, parks it in `Hold`, runs `fill` while it is busy,
 * opens the gate and waits until `expected` items were handled. Nothing else
 * is sent to the actor, so the mailbox's own order is what `seen` shows.
 */
const whileBusy = <A, E>(
  system: ActorSystem.Service,
  options: { readonly definition?: Actor.SpawnOptions; readonly spawn?: Actor.SpawnOptions },
  expected: number,
  fill: (pid: GatedPid) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const { gate, pid, seen } = yield* spawnGated(system, options)
    const result = yield* fill(pid)
    yield* Deferred.succeed(gate, undefined)
    for (let i = 0; i < 1000 && seen.length < expected; i++) yield* Effect.yieldNow()
    yield* Effect.repeatN(Effect.yieldNow(), 10)
    return { result, seen, pid }
  })

const byPrio = (a: unknown, b: unknown) => (a instanceof Item ? a.prio : 0) - (b instanceof Item ? b.prio : 0)

describe("D1 unbounded (default)", () => {
  it.scoped("keeps FIFO order and never refuses", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "mb" })
      const ids = Array.from({ length: 5000 }, (_, i) => String(i))
      const { seen } = yield* whileBusy(system, {}, ids.length, (pid) =>
        Effect.forEach(ids, (id) => pid.tell(new Item({ prio: 0, id })), { discard: true }))
      expect(seen).toEqual(ids)
    }))
})

describe("D2 bounded", () => {
  it.scoped("full: a tell fails with MailboxFull and becomes a deadletter; an ask fails at once", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "mb" })
      const events = yield* system.subscribe
      const { result, seen, pid } = yield* whileBusy(system, { spawn: { mailbox: Mailbox.bounded(2) } }, 2, (pid) =>
        Effect.gen(function*() {
          yield* pid.tell(new Item({ prio: 0, id: "a" }))
          yield* pid.tell(new Item({ prio: 0, id: "b" }))
          const tellError = yield* Effect.flip(pid.tell(new Item({ prio: 0, id: "c" })))
          // No clock adjustment here: the ask is refused at once, not timed out.
          const askError = yield* Effect.flip(pid.ask(new Probe()))
          return { tellError, askError }
        }))
      expect(result.tellError).toMatchObject({
        _tag: "MailboxFull",
        address: "effect-actors://mb/gated",
        messageTag: "Item",
        capacity: 2
      })
      expect(result.askError).toMatchObject({ _tag: "MailboxFull", messageTag: "Probe", capacity: 2 })
      expect(seen).toEqual(["a", "b"])
      const dead = ofTag(yield* drainEvents(events), "Deadletter")
      expect(dead.map((d) => [d.reason, d.message])).toEqual([
        ["mailbox full", new Item({ prio: 0, id: "c" })],
        ["mailbox full", new Probe()]
      ])
      expect(yield* system.deadletters).toBe(2)
      // Room again once drained.
      yield* pid.tell(new Item({ prio: 0, id: "d" }))
      expect(yield* pid.ask(new Probe())).toBe(3)
      expect(seen).toEqual(["a", "b", "d"])
    }))

  it.scoped("a definition's mailbox applies; a spawn option overrides it", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "mb" })
      const { result } = yield* whileBusy(system, { definition: { mailbox: Mailbox.bounded(1) } }, 1, (pid) =>
        Effect.gen(function*() {
          yield* pid.tell(new Item({ prio: 0, id: "a" }))
          return yield* Effect.flip(pid.tell(new Item({ prio: 0, id: "b" })))
        }))
      expect(result).toMatchObject({ _tag: "MailboxFull", capacity: 1 })
      yield* system.stop("gated")
      const { seen } = yield* whileBusy(
        system,
        { definition: { mailbox: Mailbox.bounded(1) }, spawn: { mailbox: Mailbox.bounded(3) } },
        3,
        (pid) => Effect.forEach(["a", "b", "c"], (id) => pid.tell(new Item({ prio: 0, id })), { discard: true })
      )
      expect(seen).toEqual(["a", "b", "c"])
    }))

  it("a capacity that is not a positive integer is refused", () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) {
      expect(() => Mailbox.bounded(capacity)).toThrow(RangeError)
    }
  })
})

describe("D3 custom mailboxes", () => {
  it.scoped("priority: the lowest sorts first, FIFO among equals", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "mb" })
      const items = [
        new Item({ prio: 5, id: "5a" }),
        new Item({ prio: 1, id: "1a" }),
        new Item({ prio: 3, id: "3a" }),
        new Item({ prio: 1, id: "1b" }),
        new Item({ prio: 5, id: "5b" }),
        new Item({ prio: 0, id: "0a" }),
        new Item({ prio: 3, id: "3b" }),
        new Item({ prio: 1, id: "1c" })
      ]
      const { seen } = yield* whileBusy(system, { spawn: { mailbox: Mailbox.priority(byPrio) } }, items.length, (pid) =>
        Effect.forEach(items, (item) => pid.tell(item), { discard: true }))
      expect(seen).toEqual(["0a", "1a", "1b", "1c", "3a", "3b", "5a", "5b"])
    }))

  it.scoped("priority: many equal-priority messages keep their arrival order", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "mb" })
      const items = Array.from({ length: 300 }, (_, i) => new Item({ prio: i % 3, id: `${i % 3}-${i}` }))
      const { seen } = yield* whileBusy(system, { spawn: { mailbox: Mailbox.priority(byPrio) } }, items.length, (pid) =>
        Effect.forEach(items, (item) => pid.tell(item), { discard: true }))
      const expected = [0, 1, 2].flatMap((p) => items.filter((item) => item.prio === p).map((item) => item.id))
      expect(seen).toEqual(expected)
    }))

  it.scoped("a user-written Mailbox (LIFO) is used as written", () =>
    Effect.gen(function*() {
      class Stack implements Mailbox.Mailbox {
        private readonly items: Array<Mailbox.Envelope> = []
        readonly capacity = undefined
        get size() {
          return this.items.length
        }
        offer(envelope: Mailbox.Envelope) {
          this.items.push(envelope)
          return true
        }
        poll() {
          return this.items.pop()
        }
      }
      const system = yield* ActorSystem.make({ name: "mb" })
      const { seen } = yield* whileBusy(system, { spawn: { mailbox: Mailbox.custom(() => new Stack()) } }, 3, (pid) =>
        Effect.forEach(["a", "b", "c"], (id) => pid.tell(new Item({ prio: 0, id })), { discard: true }))
      expect(seen).toEqual(["c", "b", "a"])
    }))

  it.scoped("a custom mailbox that refuses makes the tell fail with MailboxFull (its capacity)", () =>
    Effect.gen(function*() {
      class OnlyUrgent implements Mailbox.Mailbox {
        private readonly items: Array<Mailbox.Envelope> = []
        readonly capacity = 1
        get size() {
          return this.items.length
        }
        offer(envelope: Mailbox.Envelope) {
          const message = envelope.message
          if (message instanceof Item && message.prio > 0) return false
          this.items.push(envelope)
          return true
        }
        poll() {
          return this.items.shift()
        }
      }
      const system = yield* ActorSystem.make({ name: "mb" })
      const { result, seen } = yield* whileBusy(
        system,
        { spawn: { mailbox: Mailbox.custom(() => new OnlyUrgent()) } },
        1,
        (pid) =>
          Effect.gen(function*() {
            yield* pid.tell(new Item({ prio: 0, id: "urgent" }))
            return yield* Effect.flip(pid.tell(new Item({ prio: 1, id: "later" })))
          })
      )
      expect(result).toMatchObject({ _tag: "MailboxFull", capacity: 1, messageTag: "Item" })
      expect(seen).toEqual(["urgent"])
    }))

  it.scoped("every actor gets its own mailbox from the factory", () =>
    Effect.gen(function*() {
      let made = 0
      const factory = Mailbox.custom(() => {
        made++
        return Mailbox.unbounded.make()
      })
      const system = yield* ActorSystem.make({ name: "mb", mailbox: factory })
      const one = yield* spawnGated(system, {})
      yield* one.pid.tell(new Item({ prio: 0, id: "x" }))
      yield* Deferred.succeed(one.gate, undefined)
      expect(yield* one.pid.ask(new Probe())).toBe(1)
      expect(made).toBe(1)
    }))
})
