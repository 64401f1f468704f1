import { describe, expect, it } from "@effect/vitest"
import {
  Duration,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Layer,
  Option,
  Queue,
  Schema,
  Scope,
  TestClock
} from "effect"
import { ActorSystem, Scheduler } from "../src/index.js"
import { GetTicks, makeRecorder, Tick } from "./fixtures/recorder.js"

class Other extends Schema.TaggedClass<Other>()("Other", {}) {}

const Recorder = makeRecorder()

const setup = (options?: { readonly passivateAfter?: Duration.DurationInput }) =>
  Effect.gen(function*() {
    const system = yield* ActorSystem.make({ name: "sched", passivateAfter: options?.passivateAfter ?? "never" })
    const scheduler = yield* Effect.provideService(Scheduler.make, ActorSystem.ActorSystem, system)
    const recorder = yield* system.spawn(Recorder, "recorder")
    const ticks = Effect.map(recorder.ask(new GetTicks()), (times) => times.map((t) => new Date(t).toISOString()))
    return { system, scheduler, recorder, ticks }
  })

const at = (iso: string) => TestClock.setTime(Date.parse(iso))
const iso = (text: string) => new Date(Date.parse(text)).toISOString()

describe("G1 scheduleOnce", () => {
  it.scoped("delivers once, after the delay", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      const handle = yield* scheduler.scheduleOnce(new Tick(), recorder, "5 seconds")
      expect(handle.reference).toMatch(/^[0-9a-f-]{36}$/)
      yield* TestClock.adjust("4999 millis")
      expect(yield* ticks).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* ticks).toEqual([iso("1970-01-01T00:00:05Z")])
      yield* TestClock.adjust("1 minute")
      expect((yield* ticks).length).toBe(1)
      expect(yield* scheduler.list).toEqual([])
    }))

  it.scoped("a zero delay delivers at once", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      yield* scheduler.scheduleOnce(new Tick(), recorder, Duration.zero)
      expect(yield* ticks).toEqual([iso("1970-01-01T00:00:00Z")])
    }))
})

describe("G1 schedule (interval)", () => {
  it.scoped("fires every interval, first one interval from now", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      const handle = yield* scheduler.schedule(new Tick(), recorder, "1 second")
      yield* TestClock.adjust("999 millis")
      expect(yield* ticks).toEqual([])
      yield* TestClock.adjust("9001 millis")
      expect((yield* ticks).length).toBe(10)
      expect((yield* ticks).at(-1)).toBe(iso("1970-01-01T00:00:10Z"))
      const [info] = yield* scheduler.list
      expect(info).toMatchObject({
        reference: handle.reference,
        messageTag: "Tick",
        paused: false,
        fired: 10,
        trigger: { _tag: "Interval", interval: Duration.seconds(1) }
      })
      expect(info?.nextFireAt).toEqual(Option.some(new Date(11_000)))
      expect(String(info?.target)).toBe(String(recorder.address))
    }))

  it.scoped.prop(
    "delivers floor(window / interval) times, at multiples of the interval",
    // The window holds up to 30 intervals: each fire is one step of the TestClock.
    [fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 30 }), fc.double({ min: 0, max: 1, maxExcluded: true })],
    ([interval, intervals, fraction]) =>
      Effect.gen(function*() {
        const window = intervals * interval + Math.floor(fraction * interval)
        const { recorder, scheduler, ticks } = yield* setup()
        yield* scheduler.schedule(new Tick(), recorder, Duration.millis(interval))
        yield* TestClock.adjust(Duration.millis(window))
        const times = (yield* ticks).map((t) => Date.parse(t))
        expect(times).toEqual(Array.from({ length: Math.floor(window / interval) }, (_, i) => (i + 1) * interval))
      }),
    { fastCheck: { numRuns: 12 } }
  )

  it.scoped("cancel by handle or by reference stops it; an unknown reference is ScheduleNotFound", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      const first = yield* scheduler.schedule(new Tick(), recorder, "1 second")
      const second = yield* scheduler.schedule(new Tick(), recorder, "1 second", { reference: "second" })
      expect(second.reference).toBe("second")
      yield* TestClock.adjust("2 seconds")
      expect((yield* ticks).length).toBe(4)
      yield* first.cancel
      yield* scheduler.cancel("second")
      yield* TestClock.adjust("5 seconds")
      expect((yield* ticks).length).toBe(4)
      expect(yield* scheduler.list).toEqual([])
      yield* first.cancel // harmless
      const error = yield* Effect.flip(scheduler.cancel("second"))
      expect(error).toEqual(new Scheduler.ScheduleNotFound({ reference: "second" }))
    }))
})

describe("G1 scheduleCron", () => {
  it.scoped("month ends and a leap day: 12:00 on the 29th and 31st, Jan to Mar 2024", () =>
    Effect.gen(function*() {
      yield* at("2024-01-15T00:00:00Z")
      const { recorder, scheduler, ticks } = yield* setup()
      yield* scheduler.scheduleCron(new Tick(), recorder, "0 0 12 29,31 * ?")
      yield* TestClock.adjust("77 days") // to 2024-04-01
      expect(yield* ticks).toEqual([
        iso("2024-01-29T12:00:00Z"),
        iso("2024-01-31T12:00:00Z"),
        iso("2024-02-29T12:00:00Z"),
        iso("2024-03-29T12:00:00Z"),
        iso("2024-03-31T12:00:00Z")
      ])
    }))

  it.scoped("29 FEB waits for the next leap year", () =>
    Effect.gen(function*() {
      yield* at("2024-03-01T00:00:00Z")
      const { recorder, scheduler, ticks } = yield* setup()
      yield* scheduler.scheduleCron(new Tick(), recorder, "0 0 0 29 FEB ?")
      const [info] = yield* scheduler.list
      expect(info?.nextFireAt).toEqual(Option.some(new Date("2028-02-29T00:00:00Z")))
      yield* TestClock.adjust(Duration.days(365 * 4))
      expect(yield* ticks).toEqual([iso("2028-02-29T00:00:00Z")])
    }))

  it.scoped("9:00 in Europe/Paris stays 9:00 local across the spring DST change", () =>
    Effect.gen(function*() {
      yield* at("2024-03-29T00:00:00Z")
      const { recorder, scheduler, ticks } = yield* setup()
      yield* scheduler.scheduleCron(new Tick(), recorder, "0 0 9 * * ?", { timeZone: "Europe/Paris" })
      yield* TestClock.adjust("4 days")
      expect(yield* ticks).toEqual([
        iso("2024-03-29T08:00:00Z"),
        iso("2024-03-30T08:00:00Z"),
        iso("2024-03-31T07:00:00Z"),
        iso("2024-04-01T07:00:00Z")
      ])
    }))

  it.scoped("America/New_York fall back: 1:30 happens twice and fires once", () =>
    Effect.gen(function*() {
      yield* at("2024-11-02T12:00:00Z")
      const { recorder, scheduler, ticks } = yield* setup()
      yield* scheduler.scheduleCron(new Tick(), recorder, "0 30 1 * * ?", { timeZone: "America/New_York" })
      yield* TestClock.adjust("3 days")
      expect(yield* ticks).toEqual([
        iso("2024-11-03T05:30:00Z"),
        iso("2024-11-04T06:30:00Z"),
        iso("2024-11-05T06:30:00Z")
      ])
    }))

  it.scoped("every 15 seconds: delivery count over ten minutes", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      yield* scheduler.scheduleCron(new Tick(), recorder, "0/15 * * * * ?")
      yield* TestClock.adjust("10 minutes")
      expect((yield* ticks).length).toBe(40)
    }))

  it.scoped("bad expressions, time zones and an expression that never fires are typed errors", () =>
    Effect.gen(function*() {
      yield* at("2024-01-01T00:00:00Z")
      const { recorder, scheduler } = yield* setup()
      const bad = yield* Effect.flip(scheduler.scheduleCron(new Tick(), recorder, "0 0 9 ? * MON-FRY"))
      expect(bad).toMatchObject({ _tag: "InvalidCronExpression", field: 5, fieldName: "dayOfWeek", offset: 10 })
      const never = yield* Effect.flip(scheduler.scheduleCron(new Tick(), recorder, "0 0 0 1 1 ? 2020"))
      expect(never).toMatchObject({ _tag: "InvalidCronExpression", offset: 0 })
      expect(never.message).toContain("never fires")
      const zone = yield* Effect.flip(scheduler.scheduleCron(new Tick(), recorder, "0 0 9 * * ?", { timeZone: "Nowhere" }))
      expect(zone).toMatchObject({ _tag: "InvalidTimeZone", timeZone: "Nowhere" })
      expect(yield* scheduler.list).toEqual([])
    }))
})

describe("G1 pause and resume", () => {
  it.scoped("an interval skips what it missed while paused and resumes one interval later", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      const { reference } = yield* scheduler.schedule(new Tick(), recorder, "1 second")
      yield* TestClock.adjust("3 seconds")
      yield* scheduler.pause(reference)
      yield* scheduler.pause(reference) // harmless
      const [paused] = yield* scheduler.list
      expect(paused).toMatchObject({ paused: true, nextFireAt: Option.none(), fired: 3 })
      yield* TestClock.adjust("5 seconds")
      expect((yield* ticks).length).toBe(3)
      yield* scheduler.resume(reference)
      yield* scheduler.resume(reference) // harmless
      yield* TestClock.adjust("2 seconds")
      expect((yield* ticks).map((t) => Date.parse(t))).toEqual([1000, 2000, 3000, 9000, 10000])
    }))

  it.scoped("a one-shot whose time passed while paused fires on resume", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      const { reference } = yield* scheduler.scheduleOnce(new Tick(), recorder, "2 seconds")
      yield* scheduler.pause(reference)
      yield* TestClock.adjust("5 seconds")
      expect(yield* ticks).toEqual([])
      yield* scheduler.resume(reference)
      expect(yield* ticks).toEqual([iso("1970-01-01T00:00:05Z")])
      expect(yield* scheduler.list).toEqual([])
    }))

  it.scoped("a cron schedule resumes at its next fire time", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, ticks } = yield* setup()
      const { reference } = yield* scheduler.scheduleCron(new Tick(), recorder, "0 * * * * ?")
      yield* TestClock.adjust("90 seconds")
      yield* scheduler.pause(reference)
      yield* TestClock.adjust("3 minutes") // to 4:30
      yield* scheduler.resume(reference)
      yield* TestClock.adjust("1 minute")
      expect((yield* ticks).map((t) => Date.parse(t) / 1000)).toEqual([60, 300])
    }))

  it.scoped("unknown references are ScheduleNotFound", () =>
    Effect.gen(function*() {
      const { scheduler } = yield* setup()
      expect(yield* Effect.flip(scheduler.pause("nope"))).toEqual(new Scheduler.ScheduleNotFound({ reference: "nope" }))
      expect(yield* Effect.flip(scheduler.resume("nope"))).toEqual(new Scheduler.ScheduleNotFound({ reference: "nope" }))
    }))
})

describe("G1 list", () => {
  it.scoped("shows every live schedule with its trigger, oldest first", () =>
    Effect.gen(function*() {
      yield* at("2024-01-01T00:00:00Z")
      const { recorder, scheduler } = yield* setup()
      yield* scheduler.scheduleOnce(new Tick(), recorder, "1 hour", { reference: "once" })
      yield* scheduler.schedule(new Tick(), recorder, "1 minute", { reference: "every" })
      yield* scheduler.scheduleCron(new Tick(), recorder, "0 0 9 ? * MON-FRI", {
        reference: "cron",
        timeZone: "Europe/Paris"
      })
      const list = yield* scheduler.list
      expect(list.map((s) => [s.reference, s.trigger._tag, Option.map(s.nextFireAt, (d) => d.toISOString())])).toEqual([
        ["once", "Once", Option.some("2024-01-01T01:00:00.000Z")],
        ["every", "Interval", Option.some("2024-01-01T00:01:00.000Z")],
        ["cron", "Cron", Option.some("2024-01-01T08:00:00.000Z")]
      ])
      expect(list[2]?.trigger).toEqual({ _tag: "Cron", expression: "0 0 9 ? * MON-FRI", timeZone: "Europe/Paris" })
    }))

  it.scoped("a reference held by a live schedule is ReferenceTaken; bad durations are InvalidArgument", () =>
    Effect.gen(function*() {
      const { recorder, scheduler } = yield* setup()
      yield* scheduler.schedule(new Tick(), recorder, "1 minute", { reference: "r" })
      const taken = yield* Effect.flip(scheduler.scheduleOnce(new Tick(), recorder, "1 minute", { reference: "r" }))
      expect(taken).toEqual(new Scheduler.ReferenceTaken({ reference: "r" }))
      expect(yield* Effect.flip(scheduler.schedule(new Tick(), recorder, Duration.zero))).toMatchObject({
        _tag: "InvalidArgument"
      })
      expect(yield* Effect.flip(scheduler.scheduleOnce(new Tick(), recorder, -5))).toMatchObject({
        _tag: "InvalidArgument"
      })
      expect(yield* Effect.flip(scheduler.schedule(new Tick(), recorder, Duration.infinity))).toMatchObject({
        _tag: "InvalidArgument"
      })
      expect((yield* scheduler.list).length).toBe(1)
    }))
})

describe("G1 stopped targets", () => {
  const cancelled = (events: Queue.Dequeue<import("../src/EventStream.js").Event>) =>
    Effect.repeat(Queue.take(events), { until: (event) => event._tag === "ScheduleCancelled" })

  it.scoped("a schedule whose target stops cancels itself and says so on the event stream", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, system, ticks } = yield* setup()
      const events = yield* system.subscribe
      const { reference } = yield* scheduler.scheduleCron(new Tick(), recorder, "0 0 0 1 1 ?")
      yield* scheduler.schedule(new Tick(), recorder, "1 second")
      yield* TestClock.adjust("2 seconds")
      expect((yield* ticks).length).toBe(2)
      yield* recorder.stop
      const first = yield* cancelled(events)
      const second = yield* cancelled(events)
      expect([first, second].map((e) => e._tag === "ScheduleCancelled" && e.reason)).toEqual([
        "TargetStopped",
        "TargetStopped"
      ])
      expect(first._tag === "ScheduleCancelled" && first.reference).toBe(reference)
      expect(first._tag === "ScheduleCancelled" && String(first.target)).toBe(String(recorder.address))
      expect(yield* scheduler.list).toEqual([])
      yield* TestClock.adjust("5 seconds")
    }))

  it.scoped("a passivated target cancels its schedules too", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, system } = yield* setup({ passivateAfter: "30 seconds" })
      const events = yield* system.subscribe
      yield* scheduler.schedule(new Tick(), recorder, "1 minute")
      yield* TestClock.adjust("31 seconds")
      const event = yield* cancelled(events)
      expect(event).toMatchObject({ _tag: "ScheduleCancelled", reason: "TargetStopped" })
      expect(yield* scheduler.list).toEqual([])
    }))

  it.scoped("a message the target does not speak (untyped PID) cancels the schedule at its first fire", () =>
    Effect.gen(function*() {
      const { scheduler, system } = yield* setup()
      const events = yield* system.subscribe
      const untyped = Option.getOrThrow(yield* system.lookup("recorder"))
      const { reference } = yield* scheduler.schedule(new Other(), untyped, "1 second")
      yield* TestClock.adjust("1 second")
      const event = yield* cancelled(events)
      expect(event).toMatchObject({ _tag: "ScheduleCancelled", reference, reason: "UnknownMessage" })
      expect(yield* scheduler.list).toEqual([])
    }))

  it.scoped("a PID whose stop the scheduler cannot see (as a remote one) is caught by its next tell", () =>
    Effect.gen(function*() {
      const { recorder, scheduler, system } = yield* setup()
      const events = yield* system.subscribe
      // Looks alive whatever happens, like a PID of an actor on another node.
      const opaque: typeof recorder = Object.create(recorder, { isAlive: { value: Effect.succeed(true) } })
      const { reference } = yield* scheduler.schedule(new Tick(), opaque, "1 second")
      yield* recorder.stop
      expect((yield* scheduler.list).length).toBe(1)
      yield* TestClock.adjust("1 second")
      const event = yield* cancelled(events)
      expect(event).toMatchObject({ _tag: "ScheduleCancelled", reference, reason: "TargetStopped" })
      expect(yield* scheduler.list).toEqual([])
    }))

  it.scoped("scheduling to a stopped actor fails with ActorStopped", () =>
    Effect.gen(function*() {
      const { recorder, scheduler } = yield* setup()
      yield* recorder.stop
      const error = yield* Effect.flip(scheduler.scheduleOnce(new Tick(), recorder, "1 second"))
      expect(error).toMatchObject({ _tag: "ActorStopped", address: String(recorder.address) })
      expect(yield* scheduler.list).toEqual([])
    }))
})

describe("G1 lifetime and layers", () => {
  it.scoped("closing the scheduler's scope interrupts its schedules", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.make({ name: "sched", passivateAfter: "never" })
      const recorder = yield* system.spawn(Recorder, "recorder")
      const scope = yield* Scope.make()
      const scheduler = yield* Scheduler.make.pipe(
        Scope.extend(scope),
        Effect.provideService(ActorSystem.ActorSystem, system)
      )
      yield* scheduler.schedule(new Tick(), recorder, "1 second")
      yield* TestClock.adjust("2 seconds")
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("5 seconds")
      expect((yield* recorder.ask(new GetTicks())).length).toBe(2)
    }))

  it.effect("Scheduler.layer and the accessors", () =>
    Effect.gen(function*() {
      const recorder = yield* ActorSystem.spawn(Recorder, "recorder")
      const handle = yield* Scheduler.schedule(new Tick(), recorder, "1 second", { reference: "tick" })
      yield* Scheduler.scheduleOnce(new Tick(), recorder, "1500 millis")
      yield* TestClock.adjust("2 seconds")
      expect((yield* recorder.ask(new GetTicks())).length).toBe(3)
      yield* Scheduler.pause(handle.reference)
      expect((yield* Scheduler.list).map((s) => s.paused)).toEqual([true])
      yield* Scheduler.resume(handle.reference)
      yield* Scheduler.cancel(handle.reference)
      const cron = yield* Effect.either(Scheduler.scheduleCron(new Tick(), recorder, "0 0 0 * *"))
      expect(Either.isLeft(cron)).toBe(true)
      expect(yield* Scheduler.list).toEqual([])
    }).pipe(
      Effect.provide(Scheduler.layer.pipe(Layer.provideMerge(ActorSystem.layer({ name: "app", passivateAfter: "never" }))))
    ))
})
