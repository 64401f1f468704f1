/**
 * Timed messages: a one-shot, an interval and a cron schedule, pause/resume,
 * the list of live schedules, and a schedule that cancels itself when its
 * target stops. Runs for about five seconds of real time.
 * Run with `npx tsx examples/scheduler.ts`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Clock, Effect, Layer, Option, Schema, Stream } from "effect"
import { Actor, ActorSystem, Scheduler } from "../src/index.js"

class Remind extends Schema.TaggedClass<Remind>()("Remind", { text: Schema.String }) {}

const Reminder = Actor.make("Reminder", {
  protocol: [Remind],
  receive: {
    Remind: (msg) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.log(`${new Date(now).toISOString()} ${msg.text}`))
  }
})

const program = Effect.gen(function*() {
  const system = yield* ActorSystem.ActorSystem
  // Print the scheduler's own events.
  yield* system.events.pipe(
    Stream.filter((event) => event._tag === "ScheduleCancelled"),
    Stream.runForEach((event) => Effect.log(`event: ${event._tag} ${JSON.stringify(event)}`)),
    Effect.forkScoped
  )
  const pid = yield* system.spawn(Reminder, "reminder")

  yield* Scheduler.scheduleOnce(new Remind({ text: "once, after 500 ms" }), pid, "500 millis")
  const tick = yield* Scheduler.schedule(new Remind({ text: "every second" }), pid, "1 second")
  // Every two seconds (seconds field 0/2), read in Paris time.
  yield* Scheduler.scheduleCron(new Remind({ text: "cron 0/2 * * * * ?" }), pid, "0/2 * * * * ?", {
    reference: "even-seconds",
    timeZone: "Europe/Paris"
  })

  // A bad expression is a typed error that says where it is wrong.
  const bad = yield* Effect.flip(Scheduler.scheduleCron(new Remind({ text: "never" }), pid, "0 0 9 ? * MON-FRY"))
  yield* Effect.log(`refused: ${bad.message}`)

  for (const s of yield* Scheduler.list) {
    const next = Option.match(s.nextFireAt, { onNone: () => "-", onSome: (date) => date.toISOString() })
    yield* Effect.log(`live: ${s.reference} ${s.trigger._tag} next at ${next}`)
  }

  yield* Effect.sleep("2 seconds")
  yield* Scheduler.pause(tick.reference)
  yield* Effect.log("paused the interval")
  yield* Effect.sleep("1 second")
  yield* Scheduler.resume(tick.reference)
  yield* Effect.log("resumed the interval")
  yield* Effect.sleep("1500 millis")

  // Stopping the target cancels its schedules and publishes ScheduleCancelled.
  yield* pid.stop
  yield* Effect.sleep("100 millis")
  yield* Effect.log(`live schedules after the stop: ${(yield* Scheduler.list).length}`)
})

const Live = Scheduler.layer.pipe(Layer.provideMerge(ActorSystem.layer({ name: "reminders" })))

Effect.scoped(program).pipe(Effect.provide(Live), NodeRuntime.runMain)
