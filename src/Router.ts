/**
 * Routers: one PID in front of a pool of identical actors.
 *
 * A router is an actor. It spawns `poolSize` routees of one definition as its
 * children (`routee-0`, `routee-1`, ...), watches them, and hands each
 * message to one of them (`round-robin`, `random`) or to all of them
 * (`fan-out`). Its PID is typed by the routee's protocol, and it forwards:
 * a routee sees the original sender, and its reply to an ask goes straight
 * back to the asker. A dead routee is dropped before the next message; when
 * the last one dies the router stops, and a message it can no longer route is
 * a deadletter. Neither the router nor its routees are passivated.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Router } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const workers = yield* Router.spawn("workers", { routee: Worker, poolSize: 4, strategy: "round-robin" })
 *   yield* workers.tell(new Job({ id: 1 }))         // to routee-0
 *   const done = yield* workers.ask(new Work({ id: 2 })) // routee-1 replies
 * })
 * ```
 * @since 0.1.0
 */
import { Effect } from "effect"
import type * as Actor from "./Actor.js"
import { ActorSystem, type Service, type SpawnError } from "./ActorSystem.js"
import { InvalidArgument } from "./Errors.js"
import type { Tagged } from "./Message.js"
import type { Pid } from "./Pid.js"
import * as internal from "./internal/router.js"

/**
 * How a router picks routees:
 *
 * - `round-robin`: each routee in turn; over `n * poolSize` messages each gets exactly `n`.
 * - `random`: a routee drawn with Effect's `Random` (for reproducible runs, seed it with
 *   `Effect.withRandom` around the system's construction: actors use the system's services).
 * - `fan-out`: every routee gets every message (broadcast); for an ask, the first reply wins.
 *
 * @since 0.1.0
 * @category models
 */
export type Strategy = "round-robin" | "random" | "fan-out"

/**
 * What a router is made of.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<M extends Tagged, S, R> {
  /** The definition every routee is spawned from. */
  readonly routee: Actor.Definition<M, S, R>
  /** How many routees (a positive integer). */
  readonly poolSize: number
  /** How messages are spread over the routees. */
  readonly strategy: Strategy
}

/**
 * A router's state: its live routees, and whose turn is next (round-robin).
 *
 * @since 0.1.0
 * @category models
 */
export interface State<M> {
  readonly routees: ReadonlyArray<Pid<M>>
  readonly next: number
}

/**
 * The router as an actor definition, to spawn wherever an actor can be
 * spawned (top level, or as a child with `ctx.spawnChild`). Throws a
 * `TypeError` for a pool size below 1 or an unknown strategy, like
 * `Actor.make` does for a bad definition.
 *
 * @example
 * ```ts
 * import { Router } from "effect-actors"
 * const Pool = Router.make({ routee: Worker, poolSize: 8, strategy: "random" })
 * // const pid = yield* system.spawn(Pool, "pool")
 * // or, inside a handler: yield* ctx.spawnChild(Pool, "pool")
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = <M extends Tagged, S, R>(options: Options<M, S, R>): Actor.Definition<M, State<M>, R> => {
  const invalid = internal.invalidOptions(options as unknown as Options<Tagged, unknown, unknown>)
  if (invalid !== undefined) throw new TypeError(invalid)
  return internal.make(options)
}

/**
 * Spawns a top-level router, in the given system or in the `ActorSystem` of
 * the context. Bad options fail with `InvalidArgument`; a routee whose
 * `preStart` fails fails the spawn with `SpawnFailed`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorSystem, Router } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   // from the context
 *   const a = yield* Router.spawn("a", { routee: Worker, poolSize: 3, strategy: "fan-out" })
 *   // or with a system in hand
 *   const system = yield* ActorSystem.ActorSystem
 *   const b = yield* Router.spawn(system, "b", { routee: Worker, poolSize: 3, strategy: "random" })
 * })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const spawn: {
  <M extends Tagged, S, R>(
    name: string,
    options: Options<M, S, R>
  ): Effect.Effect<Pid<M>, SpawnError | InvalidArgument, R | ActorSystem>
  <M extends Tagged, S, R>(
    system: Service,
    name: string,
    options: Options<M, S, R>
  ): Effect.Effect<Pid<M>, SpawnError | InvalidArgument, R>
} = <M extends Tagged, S, R>(
  ...args: [name: string, options: Options<M, S, R>] | [system: Service, name: string, options: Options<M, S, R>]
): Effect.Effect<Pid<M>, SpawnError | InvalidArgument, R | ActorSystem> =>
  args.length === 2
    ? Effect.flatMap(ActorSystem, (system) => spawnIn(system, args[0], args[1]))
    : spawnIn(args[0], args[1], args[2])

const spawnIn = <M extends Tagged, S, R>(
  system: Service,
  name: string,
  options: Options<M, S, R>
): Effect.Effect<Pid<M>, SpawnError | InvalidArgument, R> =>
  Effect.suspend((): Effect.Effect<Pid<M>, SpawnError | InvalidArgument, R> => {
    const invalid = internal.invalidOptions(options as unknown as Options<Tagged, unknown, unknown>)
    return invalid === undefined
      ? system.spawn(internal.make(options), name)
      : Effect.fail(new InvalidArgument({ reason: invalid }))
  })
