/**
 * The TestKit's machinery: the probe actor (an open protocol that records
 * whatever it is sent), waiting for what it recorded, and the readable
 * rendering of expected and received values.
 *
 * @internal
 */
import { Duration, Effect, Equal, Option, Schema, TestServices, Utils } from "effect"
import * as Actor from "../Actor.js"
import type * as ActorSystem from "../ActorSystem.js"
import { ExpectationFailed } from "../Errors.js"
import type { RequestOf, Tagged, Terminated } from "../Message.js"
import { type AskOptions, isPid, type Pid } from "../Pid.js"
import type { Probe, Service } from "../TestKit.js"
import type { Cell } from "./cell.js"
import { ReceiveContextImpl } from "./cell/receiveContext.js"
import { currentRunnable } from "./dispatcher.js"
import type { AskHandle } from "./envelope.js"
import { LocalPid } from "./localPid.js"
import { implOf, localOnly } from "./system.js"

/** One message a probe received. */
interface Received {
  readonly message: unknown
  readonly sender: Option.Option<Pid>
  /** Set when the message was asked: `probe.reply` answers it. */
  readonly ask: AskHandle | undefined
}

/** What a probe recorded, and the fibers waiting for more. */
class Inbox {
  readonly messages: Array<Received> = []
  /** Addresses of watched actors that stopped. */
  readonly terminated: Array<string> = []
  private readonly waiters = new Set<() => void>()

  push(received: Received): void {
    this.messages.push(received)
    this.wake()
  }

  pushTerminated(address: string): void {
    this.terminated.push(address)
    this.wake()
  }

  private wake(): void {
    const waiters = [...this.waiters]
    this.waiters.clear()
    for (const waiter of waiters) waiter()
  }

  /** Resumes at the next recording. */
  readonly changed: Effect.Effect<void> = Effect.async<void>((resume) => {
    const waiter = () => resume(Effect.void)
    this.waiters.add(waiter)
    return Effect.sync(() => {
      this.waiters.delete(waiter)
    })
  })

  /**
   * Takes with `take` as soon as it finds something, or gives `undefined`
   * when `deadline` completes first.
   */
  await<A>(take: () => A | undefined, deadline: Effect.Effect<void>): Effect.Effect<A | undefined> {
    const loop: Effect.Effect<A> = Effect.suspend(() => {
      const found = take()
      return found === undefined ? Effect.zipRight(this.changed, loop) : Effect.succeed(found)
    })
    return Effect.suspend(() => {
      const found = take()
      if (found !== undefined) return Effect.succeed(found)
      return Effect.race(loop, Effect.as(deadline, undefined))
    })
  }
}

/**
 * The probe's definition: no protocol of its own, `receiveAny` records every
 * message, `Terminated` records the stopped actor. An ask is recorded without
 * a reply (the handler hands it off): `probe.reply` answers it later.
 */
const probeDefinition = (inbox: Inbox): Actor.Definition<Tagged, void, never> => {
  const definition = Actor.make("TestProbe", {
    protocol: [],
    receive: {
      Terminated: (message: Terminated) => Effect.sync(() => inbox.pushTerminated(message.address))
    } as never,
    passivateAfter: "never"
  }) as unknown as Actor.Definition<Tagged, void, never>
  return {
    ...definition,
    receiveAny: (message, ctx) =>
      Effect.sync(() => {
        const ask = ctx instanceof ReceiveContextImpl ? ctx.cell.current?.ask : undefined
        if (ask !== undefined && ctx instanceof ReceiveContextImpl) ctx.cell.handOff()
        inbox.push({ message, sender: ctx.sender, ask })
      })
  }
}

/** The cell behind a probe's PID (probes are always local actors). */
const cellOf = (pid: Pid<never>): Cell => {
  if (!(pid instanceof LocalPid)) throw new TypeError("a probe is a local actor")
  return pid.cell
}

/** Runs `effect` as if the actor `cell` ran it: sends made by it carry `cell` as their sender. */
const asSender = <A, E, R>(cell: Cell, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.locally(effect, currentRunnable, cell)

/** Compares with `Equal.equals`, structurally for plain objects and arrays too. */
const equals = (a: unknown, b: unknown): boolean => Utils.structuralRegion(() => Equal.equals(a, b))

const nameOf = (u: object): string => {
  const tag = (u as { readonly _tag?: unknown })._tag
  if (typeof tag === "string") return tag
  const constructor = (u as { readonly constructor?: { readonly name?: unknown } }).constructor
  return typeof constructor?.name === "string" && constructor.name !== "Object" ? constructor.name : ""
}

/**
 * A stable, one-line rendering: keys sorted, the tag (or class name) first,
 * PIDs as their address. Stable so failures read the same on every run.
 */
const show = (u: unknown, depth = 0, seen: Set<unknown> = new Set()): string => {
  switch (typeof u) {
    case "string":
      return JSON.stringify(u)
    case "bigint":
      return `${u}n`
    case "function":
      return `[Function ${u.name === "" ? "anonymous" : u.name}]`
    case "object":
      break
    default:
      return String(u)
  }
  if (u === null) return "null"
  if (isPid(u)) return `Pid(${String(u.address)})`
  if (u instanceof Date) return `Date(${u.toISOString()})`
  if (seen.has(u)) return "[Circular]"
  if (depth >= 6) return "[…]"
  seen.add(u)
  try {
    if (Array.isArray(u)) return `[${u.map((item) => show(item, depth + 1, seen)).join(", ")}]`
    if (u instanceof Map) {
      const entries = [...u].map(([k, v]) => `${show(k, depth + 1, seen)} => ${show(v, depth + 1, seen)}`)
      return `Map(${entries.join(", ")})`
    }
    if (u instanceof Set) return `Set(${[...u].map((item) => show(item, depth + 1, seen)).join(", ")})`
    const name = nameOf(u)
    const keys = Object.keys(u).filter((key) => key !== "_tag").sort()
    const record = u as Readonly<Record<string, unknown>>
    const fields = keys.map((key) => `${key}: ${show(record[key], depth + 1, seen)}`).join(", ")
    const body = fields === "" ? "{}" : `{ ${fields} }`
    return name === "" ? body : `${name} ${body}`
  } finally {
    seen.delete(u)
  }
}

/**
 * The fields that differ between two objects of the same tag (or class), one
 * line each; empty when they are not comparable field by field.
 */
const differences = (expected: unknown, received: unknown): Array<string> => {
  if (typeof expected !== "object" || expected === null || typeof received !== "object" || received === null) {
    return []
  }
  if (Array.isArray(expected) || Array.isArray(received) || nameOf(expected) !== nameOf(received)) return []
  const e = expected as Readonly<Record<string, unknown>>
  const r = received as Readonly<Record<string, unknown>>
  const keys = [...new Set([...Object.keys(e), ...Object.keys(r)])].filter((key) => key !== "_tag").sort()
  return keys
    .filter((key) => !equals(e[key], r[key]))
    .map((key) => `${key}: expected ${show(e[key])}, received ${show(r[key])}`)
}

/** How long the expectations wait when no duration is given. */
export interface Settings {
  readonly timeout: Duration.DurationInput
  readonly noMessageWait: Duration.DurationInput
}

/** A deadline: `effect` completes when it passes; `text` says so in a failure. */
interface Deadline {
  readonly effect: Effect.Effect<void>
  readonly text: string
}

/** A deadline on the real clock, even under a TestClock: a missing message fails instead of hanging. */
const live = (duration: Duration.DurationInput): Deadline => ({
  effect: TestServices.provideLive(Effect.sleep(duration)),
  text: `${Duration.format(Duration.decode(duration))} (real time)`
})

/** A deadline on the fiber's Clock: the TestClock in tests. */
const clock = (duration: Duration.DurationInput): Deadline => ({
  effect: Effect.sleep(duration),
  text: Duration.format(Duration.decode(duration))
})

const describeSchema = (schema: Schema.Schema.Any): string => {
  const identifier = (schema as { readonly identifier?: unknown }).identifier
  return `a value of ${typeof identifier === "string" ? identifier : String(schema.ast)}`
}

class ProbeImpl implements Probe {
  private last: Received | undefined = undefined
  private readonly cell: Cell

  constructor(readonly pid: Pid<Tagged>, private readonly settings: Settings, private readonly inbox: Inbox) {
    this.cell = cellOf(pid as Pid<never>)
  }

  private failure(expectation: string, expected: string, received: string, differences: Array<string> = []) {
    const lines = [
      `${expectation} failed on ${this.pid.name}`,
      `  expected: ${expected}`,
      `  received: ${received}`,
      ...(differences.length === 0 ? [] : ["  differences:", ...differences.map((line) => `    ${line}`)])
    ]
    return new ExpectationFailed({
      probe: this.pid.name,
      expectation,
      expected,
      received,
      differences,
      message: lines.join("\n")
    })
  }

  /** Takes the next message within `deadline`, or fails `expectation` with `expected`. */
  private next(expectation: string, expected: string, deadline: Deadline): Effect.Effect<Received, ExpectationFailed> {
    return Effect.flatMap(this.inbox.await(() => this.inbox.messages.shift(), deadline.effect), (received) => {
      if (received === undefined) {
        return Effect.fail(this.failure(expectation, expected, `no message within ${deadline.text}`))
      }
      this.last = received
      return Effect.succeed(received)
    })
  }

  tell<M>(to: Pid<M>, message: M) {
    return asSender(this.cell, to.tell(message))
  }

  ask<M, Q extends RequestOf<M>>(to: Pid<M>, request: Q, options?: AskOptions) {
    return asSender(this.cell, to.ask(request, options))
  }

  send<M, Q extends RequestOf<M>>(to: Pid<M>, request: Q, options?: AskOptions) {
    return Effect.map(this.ask(to, request, options), (reply) =>
      this.inbox.push({ message: reply, sender: Option.some(to as Pid), ask: undefined }))
  }

  private expectEqual(expectation: string, message: unknown, deadline: Deadline) {
    const expected = show(message)
    return Effect.flatMap(this.next(expectation, expected, deadline), (received) =>
      equals(message, received.message)
        ? Effect.void
        : Effect.fail(
          this.failure(expectation, expected, show(received.message), differences(message, received.message))
        ))
  }

  expectMessage(message: unknown) {
    return this.expectEqual("expectMessage", message, live(this.settings.timeout))
  }

  expectMessageWithin(duration: Duration.DurationInput, message: unknown) {
    return this.expectEqual("expectMessageWithin", message, clock(duration))
  }

  expectNoMessage(duration?: Duration.DurationInput) {
    const deadline = duration === undefined ? live(this.settings.noMessageWait) : clock(duration)
    return Effect.flatMap(this.inbox.await(() => this.inbox.messages.shift(), deadline.effect), (received) => {
      if (received === undefined) return Effect.void
      this.last = received
      return Effect.fail(
        this.failure("expectNoMessage", `no message within ${deadline.text}`, show(received.message))
      )
    })
  }

  expectAnyMessage() {
    return Effect.map(this.next("expectAnyMessage", "any message", live(this.settings.timeout)), (r) => r.message)
  }

  expectAnyMessageWithin(duration: Duration.DurationInput) {
    return Effect.map(this.next("expectAnyMessageWithin", "any message", clock(duration)), (r) => r.message)
  }

  private expectType<A, I>(expectation: string, schema: Schema.Schema<A, I, never>, deadline: Deadline) {
    const expected = describeSchema(schema)
    const is = Schema.is(schema)
    return Effect.flatMap(this.next(expectation, expected, deadline), (received) =>
      is(received.message)
        ? Effect.succeed(received.message)
        : Effect.fail(this.failure(expectation, expected, show(received.message))))
  }

  expectMessageOfType<A, I>(schema: Schema.Schema<A, I, never>) {
    return this.expectType("expectMessageOfType", schema, live(this.settings.timeout))
  }

  expectMessageOfTypeWithin<A, I>(duration: Duration.DurationInput, schema: Schema.Schema<A, I, never>) {
    return this.expectType("expectMessageOfTypeWithin", schema, clock(duration))
  }

  watch(pid: Pid<never>) {
    return this.pid.watch(pid)
  }

  expectTerminated(pid: Pid<never>) {
    const address = String(pid.address)
    const deadline = live(this.settings.timeout)
    const take = () => {
      const index = this.inbox.terminated.indexOf(address)
      return index < 0 ? undefined : this.inbox.terminated.splice(index, 1)[0]
    }
    return Effect.zipRight(
      this.watch(pid),
      Effect.flatMap(this.inbox.await(take, deadline.effect), (found) =>
        found !== undefined
          ? Effect.void
          : Effect.fail(
            this.failure("expectTerminated", `Terminated(${address})`, `the actor still runs after ${deadline.text}`)
          ))
    )
  }

  reply(reply: unknown) {
    return Effect.suspend(() => {
      const ask = this.last?.ask
      if (ask === undefined || ask.done) {
        const last = this.last === undefined ? "no message taken yet" : `${show(this.last.message)}, not an open ask`
        return Effect.fail(this.failure("reply", "an ask to answer", last))
      }
      ask.succeed(reply)
      return Effect.void
    })
  }

  get lastSender(): Effect.Effect<Option.Option<Pid>> {
    return Effect.sync(() => this.last === undefined ? Option.none() : this.last.sender)
  }

  get stop(): Effect.Effect<void> {
    return this.pid.stop
  }
}

/** A top-level spawn that never claims a cluster name (probes are this node's own). */
const spawnLocal = <M extends Tagged, S>(system: ActorSystem.Service, definition: Actor.Definition<M, S, never>, name: string) => {
  const impl = implOf(system)
  return impl === undefined ? system.spawn(definition, name) : impl.spawn(definition, name, undefined, undefined, localOnly)
}

/** The TestKit service over `system`. */
export const makeService = (system: ActorSystem.Service, settings: Settings): Service => {
  let probes = 0
  return {
    system,
    spawn: (definition, name, options) => system.spawn(definition, name, options),
    probe: (name) =>
      Effect.suspend(() => {
        const inbox = new Inbox()
        return Effect.map(
          spawnLocal(system, probeDefinition(inbox), name ?? `probe-${++probes}`),
          (pid) => new ProbeImpl(pid, settings, inbox)
        )
      })
  }
}
