import { describe, expect, it } from "@effect/vitest"
import { Chunk, Config, ConfigProvider, Deferred, Duration, Effect, Exit, Fiber, Layer, Queue, Schema, TestClock } from "effect"
import { Actor, ActorSystem, EventStream } from "../src/index.js"
import { settle } from "./helpers.js"

/** A provider reading keys the way the environment holds them: `ACTORS_ASK_TIMEOUT`. */
const env = (entries: Record<string, string>) =>
  ConfigProvider.fromMap(new Map(Object.entries(entries)), { pathDelim: "_" }).pipe(ConfigProvider.constantCase)

const fromEnv = Config.nested(ActorSystem.config, "actors")

class Wait extends Schema.TaggedRequest<Wait>()("Wait", { payload: {}, success: Schema.Void, failure: Schema.Never }) {}
class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}

const Silent = Actor.make("Silent", {
  protocol: [Wait, Ping],
  receive: { Wait: () => Effect.never, Ping: () => Effect.void }
})

/** The text of the ConfigError a bad environment gives. */
const configError = (entries: Record<string, string>) =>
  Effect.flip(Effect.withConfigProvider(fromEnv, env(entries))).pipe(Effect.map(String))

describe("C1 ActorSystem.layerConfig", () => {
  it.effect("reads every option from the environment's keys", () =>
    Effect.gen(function*() {
      const options = yield* Effect.withConfigProvider(
        fromEnv,
        env({
          ACTORS_NAME: "shop",
          ACTORS_ASK_TIMEOUT: "2 seconds",
          ACTORS_SHUTDOWN_TIMEOUT: "30 seconds",
          ACTORS_PASSIVATE_AFTER: "never",
          ACTORS_STASH_CAPACITY: "10",
          ACTORS_MAILBOX_CAPACITY: "100",
          ACTORS_METRICS_INTERVAL: "15 seconds",
          ACTORS_METRICS_PER_ACTOR: "true",
          ACTORS_EVENT_BUFFER_CAPACITY: "100",
          ACTORS_EVENT_BUFFER_STRATEGY: "dropping"
        })
      )
      const { mailbox, ...rest } = options
      expect(rest).toEqual({
        name: "shop",
        askTimeout: Duration.seconds(2),
        shutdownTimeout: Duration.seconds(30),
        passivateAfter: "never",
        stashCapacity: 10,
        metrics: { interval: Duration.seconds(15), perActor: true },
        eventBuffer: { capacity: 100, strategy: "dropping" }
      })
      expect(mailbox).toBeDefined()
    }))

  it.effect("leaves out what the environment does not set (the defaults of make apply)", () =>
    Effect.gen(function*() {
      const options = yield* Effect.withConfigProvider(fromEnv, env({ ACTORS_NAME: "shop" }))
      expect(options).toEqual({ name: "shop", metrics: {}, eventBuffer: {} })
      expect(Object.keys(options)).not.toContain("askTimeout")
    }))

  it.scoped("builds a system that uses them: name, ask timeout, bounded mailbox", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        ActorSystem.layerConfig(fromEnv).pipe(
          Layer.provide(Layer.setConfigProvider(env({
            ACTORS_NAME: "configured",
            ACTORS_ASK_TIMEOUT: "2 seconds",
            ACTORS_MAILBOX_CAPACITY: "1"
          })))
        )
      )
      const system = yield* Effect.provide(ActorSystem.ActorSystem, context)
      expect(system.name).toBe("configured")
      const pid = yield* system.spawn(Silent, "silent")
      expect(String(pid.address)).toContain("configured")
      const asking = yield* Effect.fork(pid.ask(new Wait()))
      yield* settle
      // The actor is busy with Wait: one message fits in the mailbox, the next does not.
      yield* pid.tell(new Ping())
      const full = yield* Effect.flip(pid.tell(new Ping()))
      expect(full._tag).toBe("MailboxFull")
      yield* TestClock.adjust("1999 millis")
      yield* settle
      expect(asking.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      const timedOut = yield* Fiber.join(asking).pipe(Effect.flip)
      expect(timedOut._tag).toBe("AskTimeout")
      yield* pid.kill
    }))

  it.scoped("builds a system whose event subscribers get the configured buffer", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        ActorSystem.layerConfig(fromEnv).pipe(
          Layer.provide(Layer.setConfigProvider(env({
            ACTORS_NAME: "buffered",
            ACTORS_EVENT_BUFFER_CAPACITY: "2",
            ACTORS_EVENT_BUFFER_STRATEGY: "dropping"
          })))
        )
      )
      const system = yield* Effect.provide(ActorSystem.ActorSystem, context)
      const events = yield* system.subscribe
      for (let i = 0; i < 5; i++) yield* system.spawn(Silent, `s${i}`)
      // Dropping keeps the first two ActorStarted events and counts the three newer ones as missed.
      const kept = yield* Queue.takeAll(events)
      expect(Chunk.toReadonlyArray(kept).map((e) => e._tag === "ActorStarted" ? e.address.path.join("/") : e._tag))
        .toEqual(["s0", "s1"])
      expect(yield* EventStream.missed(events)).toBe(3)
    }))

  it.effect("a record of your own configs, with options from code", () =>
    Effect.gen(function*() {
      const built = yield* Deferred.make<string>()
      const layer = ActorSystem.layerConfig({
        name: Config.string("NODE_NAME"),
        passivateAfter: Config.succeed("never"),
        askTimeout: Config.duration("ASK").pipe(Config.withDefault(Duration.seconds(1)))
      })
      yield* Effect.scoped(
        Effect.flatMap(Layer.build(layer), (context) =>
          Effect.flatMap(Effect.provide(ActorSystem.ActorSystem, context), (system) =>
            Deferred.succeed(built, system.name)))
      ).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["NODE_NAME", "mine"]]))))
      expect(yield* Deferred.await(built)).toBe("mine")
      // A value of your own config still gets make's checks.
      const wrong = yield* Effect.flip(
        Effect.scoped(Layer.build(ActorSystem.layerConfig({ name: Config.succeed("x"), askTimeout: Config.succeed(0) })))
      )
      expect(wrong._tag === "InvalidArgument" && wrong.reason).toContain("askTimeout must be positive")
    }))

  describe("a bad value is a ConfigError naming its key", () => {
    const bad: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
      [{ ACTORS_NAME: "shop", ACTORS_ASK_TIMEOUT: "0 seconds" }, "askTimeout", "must be positive"],
      [{ ACTORS_NAME: "shop", ACTORS_ASK_TIMEOUT: "soon" }, "askTimeout", "Expected a duration"],
      [{ ACTORS_NAME: "shop", ACTORS_SHUTDOWN_TIMEOUT: "-1 seconds" }, "shutdownTimeout", "must be positive"],
      [{ ACTORS_NAME: "shop", ACTORS_PASSIVATE_AFTER: "sometimes" }, "passivateAfter", "a duration or \"never\""],
      [{ ACTORS_NAME: "shop", ACTORS_PASSIVATE_AFTER: "0 millis" }, "passivateAfter", "must be positive or \"never\""],
      [{ ACTORS_NAME: "shop", ACTORS_STASH_CAPACITY: "1.5" }, "STASH_CAPACITY", "integer"],
      [{ ACTORS_NAME: "shop", ACTORS_STASH_CAPACITY: "-1" }, "stashCapacity", "must be a non-negative integer"],
      [{ ACTORS_NAME: "shop", ACTORS_MAILBOX_CAPACITY: "0" }, "mailboxCapacity", "must be a positive integer"],
      [{ ACTORS_NAME: "shop", ACTORS_METRICS_INTERVAL: "0 seconds" }, "metrics.interval", "must be positive"],
      [{ ACTORS_NAME: "shop", ACTORS_METRICS_PER_ACTOR: "perhaps" }, "PER_ACTOR", "boolean"],
      [{ ACTORS_NAME: "shop", ACTORS_EVENT_BUFFER_CAPACITY: "0" }, "eventBuffer.capacity", "must be a positive integer"],
      [{ ACTORS_NAME: "shop", ACTORS_EVENT_BUFFER_CAPACITY: "many" }, "CAPACITY", "integer"],
      [{ ACTORS_NAME: "shop", ACTORS_EVENT_BUFFER_STRATEGY: "newest" }, "STRATEGY", "sliding"],
      [{ ACTORS_NAME: "a shop!" }, "name", "a name starts with a letter or digit"],
      [{}, "ACTORS_NAME", "Missing data"]
    ]
    for (const [entries, key, text] of bad) {
      it.effect(`${JSON.stringify(entries)} names ${key}`, () =>
        Effect.gen(function*() {
          const message = yield* configError(entries)
          expect(message).toContain(key)
          expect(message).toContain(text)
        }))
    }

    it.effect("the layer fails with it, and builds nothing", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(ActorSystem.layerConfig(fromEnv)))).pipe(
          Effect.withConfigProvider(env({ ACTORS_NAME: "shop", ACTORS_ASK_TIMEOUT: "0 seconds" }))
        )
        expect(Exit.isFailure(exit)).toBe(true)
        expect(String(Exit.isFailure(exit) && exit.cause)).toContain("askTimeout")
      }))
  })
})
