/**
 * The TestKit: test actors from the outside with probes.
 *
 * `TestKit.layer()` provides an `ActorSystem` and the `TestKit` service to a
 * test (`it.effect(..., Effect.provide(TestKit.layer()))`, or `layer(...)`
 * from `@effect/vitest` for a whole block). `TestKit.probe()` creates a
 * probe: an actor that accepts any message and records what it receives.
 * A probe sends as itself (`tell`, `ask`, `send`), so the actor under test sees
 * it as `ctx.sender` and what it sends back lands in the probe; the `expect*`
 * functions then take the recorded messages one by one, in arrival order.
 * A failed expectation fails the Effect with `Errors.ExpectationFailed`, whose
 * message shows what was expected and what came (and, for two values of the
 * same tag, which fields differ). Values compare with `Equal.equals`,
 * structurally for plain objects and arrays too.
 *
 * Time. The `...Within(duration, ...)` expectations wait on Effect's `Clock`:
 * in `it.effect` that is the `TestClock`, so fork the expectation, move the
 * clock, and join it (a message already there, or arriving without the clock
 * moving, satisfies it at once):
 *
 * ```ts
 * const fiber = yield* Effect.fork(probe.expectMessageWithin("2 seconds", new Tick()))
 * yield* TestClock.adjust("2 seconds")
 * yield* Fiber.join(fiber)
 * ```
 *
 * The expectations without a duration are for messages that need no time to
 * pass: they wait at most `timeout` (3 seconds) of *real* time, so a message
 * that never comes fails the test instead of hanging it on a frozen
 * `TestClock`; `expectNoMessage()` without a duration waits `noMessageWait`
 * (100 ms) of real time. `expectTerminated` waits like the former.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { it } from "@effect/vitest"
 * import { TestKit } from "effect-actors"
 *
 * it.effect("replies pong", () =>
 *   Effect.gen(function*() {
 *     const actor = yield* TestKit.spawn(PingPong, "ping-pong")
 *     const probe = yield* TestKit.probe()
 *     yield* probe.tell(actor, new Ping())
 *     yield* probe.expectMessage(new Pong())
 *   }).pipe(Effect.provide(TestKit.layer())))
 * ```
 * @since 0.1.0
 */
import { Context, type Duration, Effect, Layer, type Option, type Schema } from "effect"
import type * as Actor from "./Actor.js"
import * as ActorSystem from "./ActorSystem.js"
import type { AskError, ExpectationFailed, InvalidArgument, InvalidName, TellError, UnknownMessage } from "./Errors.js"
import type { FailureOf, ReplyOf, RequestOf, Tagged } from "./Message.js"
import type { AskOptions, Pid } from "./Pid.js"
import * as internal from "./internal/testkit.js"

/**
 * A probe: an actor that records every message it receives, and sends as
 * itself. Every `expect*` takes the message it looks at off the record,
 * whether the expectation holds or not.
 *
 * @since 0.1.0
 * @category models
 */
export interface Probe {
  /** The probe's PID: give it to the actor under test, or watch it. It accepts any message. */
  readonly pid: Pid<Tagged>
  /** Tells `message` to `to` with the probe as the sender: what `to` sends back to its sender is recorded. */
  tell<M>(to: Pid<M>, message: NoInfer<M>): Effect.Effect<void, TellError | UnknownMessage>
  /** Asks `to` with the probe as the sender and returns the reply (the reply is not recorded). */
  ask<M, Q extends RequestOf<M>>(
    to: Pid<M>,
    request: Q,
    options?: AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage>
  /** Asks `to` with the probe as the sender and records the reply, for `expectMessage` and friends. */
  send<M, Q extends RequestOf<M>>(
    to: Pid<M>,
    request: Q,
    options?: AskOptions
  ): Effect.Effect<void, FailureOf<Q> | AskError | UnknownMessage>
  /** The next message equals `message` (`Equal.equals`), within the kit's real-time `timeout`. */
  expectMessage(message: unknown): Effect.Effect<void, ExpectationFailed>
  /** The next message equals `message` and arrives within `duration` on the Clock (TestClock in tests). */
  expectMessageWithin(duration: Duration.DurationInput, message: unknown): Effect.Effect<void, ExpectationFailed>
  /**
   * No message arrives within `duration` on the Clock; without a duration,
   * within the kit's real-time `noMessageWait`.
   */
  expectNoMessage(duration?: Duration.DurationInput): Effect.Effect<void, ExpectationFailed>
  /** Returns the next message, whatever it is, within the kit's real-time `timeout`. */
  expectAnyMessage(): Effect.Effect<unknown, ExpectationFailed>
  /** Returns the next message, whatever it is, arriving within `duration` on the Clock. */
  expectAnyMessageWithin(duration: Duration.DurationInput): Effect.Effect<unknown, ExpectationFailed>
  /** The next message is of `schema` (`Schema.is`); returns it typed. */
  expectMessageOfType<A, I>(schema: Schema.Schema<A, I, never>): Effect.Effect<A, ExpectationFailed>
  /** The next message is of `schema` and arrives within `duration` on the Clock; returns it typed. */
  expectMessageOfTypeWithin<A, I>(
    duration: Duration.DurationInput,
    schema: Schema.Schema<A, I, never>
  ): Effect.Effect<A, ExpectationFailed>
  /** The probe watches `pid`: its stop is recorded, for `expectTerminated`. */
  watch(pid: Pid<never>): Effect.Effect<void>
  /**
   * `pid` stops (or has stopped) within the kit's real-time `timeout`. Watches
   * `pid` first if the probe does not yet. Terminations are recorded apart
   * from messages: they never get in the way of `expectMessage`.
   */
  expectTerminated(pid: Pid<never>): Effect.Effect<void, ExpectationFailed>
  /** Answers the last message taken by an `expect*`, when it was an ask (the probe never answers by itself). */
  reply(reply: unknown): Effect.Effect<void, ExpectationFailed>
  /** The sender of the last message taken by an `expect*`. */
  readonly lastSender: Effect.Effect<Option.Option<Pid>>
  /** Stops the probe. */
  readonly stop: Effect.Effect<void>
}

/**
 * Settings of a TestKit: the actor system's (its `name` defaults to
 * `"testkit"`, and passivation is off unless `passivateAfter` is given, so
 * moving the TestClock never stops the actor under test behind the test's
 * back) and how long the expectations without a duration wait.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Partial<ActorSystem.Options> {
  /**
   * How long `expectMessage`, `expectAnyMessage`, `expectMessageOfType` and
   * `expectTerminated` wait, in real time (3 seconds).
   */
  readonly timeout?: Duration.DurationInput
  /** How long `expectNoMessage()` without a duration waits, in real time (100 millis). */
  readonly noMessageWait?: Duration.DurationInput
}

/**
 * What the TestKit offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The actor system under test. */
  readonly system: ActorSystem.Service
  /** Spawns the actor under test (a top-level actor of `system`). */
  spawn<M extends Tagged, S, R>(
    definition: Actor.Definition<M, S, R>,
    name: string,
    options?: Actor.SpawnOptions
  ): Effect.Effect<Pid<M>, ActorSystem.SpawnError, R>
  /** Creates a probe, named `name` or `probe-1`, `probe-2`, ... */
  probe(name?: string): Effect.Effect<Probe, ActorSystem.SpawnError>
}

/**
 * The TestKit service.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestKit extends Context.Tag("effect-actors/TestKit")<TestKit, Service>() {}

/**
 * Builds a TestKit over the `ActorSystem` of the context.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ActorSystem, TestKit } from "effect-actors"
 * const KitOnMySystem = Layer.effect(TestKit.TestKit, TestKit.make({ timeout: "1 second" })).pipe(
 *   Layer.provideMerge(ActorSystem.layer({ name: "mine", passivateAfter: "never" }))
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Pick<Options, "timeout" | "noMessageWait"> = {}
): Effect.Effect<Service, never, ActorSystem.ActorSystem> =>
  Effect.map(ActorSystem.ActorSystem, (system) =>
    internal.makeService(system, {
      timeout: options.timeout ?? "3 seconds",
      noMessageWait: options.noMessageWait ?? "100 millis"
    }))

/**
 * An actor system and a TestKit over it, as one layer. Closing it stops every
 * actor and probe.
 *
 * @example
 * ```ts
 * import { layer } from "@effect/vitest"
 * import { TestKit } from "effect-actors"
 *
 * layer(TestKit.layer({ askTimeout: "1 second" }))("my actor", (it) => {
 *   it.effect("answers", () => ...)
 * })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<TestKit | ActorSystem.ActorSystem, InvalidName | InvalidArgument> => {
  const { noMessageWait, timeout, ...systemOptions } = options
  const system = ActorSystem.layer({
    ...systemOptions,
    name: systemOptions.name ?? "testkit",
    passivateAfter: systemOptions.passivateAfter ?? "never"
  })
  const waits = {
    ...(timeout === undefined ? {} : { timeout }),
    ...(noMessageWait === undefined ? {} : { noMessageWait })
  }
  return Layer.effect(TestKit, make(waits)).pipe(Layer.provideMerge(system))
}

/**
 * Creates a probe with the TestKit of the context.
 *
 * @example
 * ```ts
 * import { TestKit } from "effect-actors"
 * // const probe = yield* TestKit.probe()
 * // yield* probe.tell(actor, new Ping())
 * // yield* probe.expectMessage(new Pong())
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const probe = (name?: string): Effect.Effect<Probe, ActorSystem.SpawnError, TestKit> =>
  Effect.flatMap(TestKit, (kit) => kit.probe(name))

/**
 * Spawns the actor under test with the TestKit of the context.
 *
 * @example
 * ```ts
 * import { TestKit } from "effect-actors"
 * // const actor = yield* TestKit.spawn(PingPong, "ping-pong")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const spawn = <M extends Tagged, S, R>(
  definition: Actor.Definition<M, S, R>,
  name: string,
  options?: Actor.SpawnOptions
): Effect.Effect<Pid<M>, ActorSystem.SpawnError, R | TestKit> =>
  Effect.flatMap(TestKit, (kit) => kit.spawn(definition, name, options))
