/**
 * The router actor: a pool of routees spawned as its children, watched, and
 * a handler for every tag of the routee's protocol that forwards the message
 * (keeping its sender and asker) to one routee or to all.
 *
 * @internal
 */
import { Effect, Random } from "effect"
import * as Actor from "../Actor.js"
import type { SpawnError } from "../Errors.js"
import type { Tagged, Terminated } from "../Message.js"
import type { Pid } from "../Pid.js"
import type { Options, State, Strategy } from "../Router.js"

type Ctx<M extends Tagged> = Actor.ReceiveContext<M, State<M>, never>

const strategies: ReadonlySet<string> = new Set<Strategy>(["fan-out", "random", "round-robin"])

/** Why the options are invalid, or undefined when they are fine. */
export const invalidOptions = (options: Options<Tagged, unknown, unknown>): string | undefined => {
  if (!Number.isInteger(options.poolSize) || options.poolSize < 1) {
    return `a router's poolSize is a positive integer, got ${options.poolSize}`
  }
  if (!strategies.has(options.strategy)) {
    return `a router's strategy is fan-out, random or round-robin, got ${String(options.strategy)}`
  }
  return undefined
}

/** The routee's handler saw the message; a refusal (stopped, full) was already a deadletter. */
const deliver = <M extends Tagged>(ctx: Ctx<M>, routee: Pid<M>): Effect.Effect<void> =>
  Effect.ignore(ctx.forward(routee))

/** No routee left: the message is a deadletter (an asker gets `AskFailed`) and the router stops. */
const noRoutee = <M extends Tagged>(ctx: Ctx<M>): Effect.Effect<void> =>
  Effect.zipRight(ctx.unhandled(), ctx.stop(ctx.self))

/**
 * Picks a live routee with `choose` (an index into the routees), dropping the
 * dead ones it meets: a routee may have stopped before its `Terminated`
 * reached the router.
 */
const toOne = <M extends Tagged>(
  ctx: Ctx<M>,
  choose: (state: State<M>) => Effect.Effect<number>
): Effect.Effect<void> =>
  Effect.gen(function*() {
    let state = ctx.state
    while (state.routees.length > 0) {
      const index = yield* choose(state)
      // `choose` returns an index below `routees.length`.
      const routee = state.routees[index]!
      if (yield* routee.isAlive) {
        yield* ctx.set({ routees: state.routees, next: index + 1 })
        return yield* deliver(ctx, routee)
      }
      state = { routees: state.routees.filter((_, i) => i !== index), next: index }
    }
    yield* ctx.set(state)
    return yield* noRoutee(ctx)
  })

const toAll = <M extends Tagged>(ctx: Ctx<M>): Effect.Effect<void> =>
  Effect.gen(function*() {
    const routees = yield* Effect.filter(ctx.state.routees, (routee) => routee.isAlive)
    if (routees.length !== ctx.state.routees.length) yield* ctx.set({ routees, next: 0 })
    if (routees.length === 0) return yield* noRoutee(ctx)
    yield* Effect.forEach(routees, (routee) => deliver(ctx, routee), { discard: true })
  })

const routers: { readonly [K in Strategy]: <M extends Tagged>(ctx: Ctx<M>) => Effect.Effect<void> } = {
  "fan-out": toAll,
  "round-robin": (ctx) => toOne(ctx, (state) => Effect.succeed(state.next % state.routees.length)),
  "random": (ctx) => toOne(ctx, (state) => Random.nextIntBetween(0, state.routees.length))
}

/**
 * A routee stopped: forget it, and stop the router with the last one. The
 * sender of `Terminated` is the routee's own PID; comparing PIDs by identity
 * keeps a late `Terminated` of a routee from before a restart (same name) from
 * removing its successor.
 */
const onTerminated = <M extends Tagged>(_: Terminated, ctx: Ctx<M>): Effect.Effect<void> =>
  Effect.suspend(() => {
    if (ctx.sender._tag === "None") return Effect.void
    const dead = ctx.sender.value
    const routees = ctx.state.routees.filter((routee) => routee !== dead)
    if (routees.length === ctx.state.routees.length) return Effect.void
    return Effect.zipRight(
      ctx.set({ routees, next: ctx.state.next }),
      routees.length === 0 ? ctx.stop(ctx.self) : Effect.void
    )
  })

/** Builds the router's definition; `options` were validated by the caller. */
export const make = <M extends Tagged, S, R>(options: Options<M, S, R>): Actor.Definition<M, State<M>, R> => {
  const { poolSize, routee } = options
  const route = routers[options.strategy]
  // One handler for every tag of the routee's protocol: the router speaks it all.
  const receive: Record<string, (message: M, ctx: Ctx<M>) => Effect.Effect<void>> = {}
  for (const tag of routee.tags) receive[tag] = (_, ctx) => route(ctx)
  // A routee that fails to spawn fails the router's spawn (`SpawnFailed`).
  const preStart = (ctx: Actor.ReceiveContext<M, State<M>, R>): Effect.Effect<void, SpawnError, R> =>
    Effect.gen(function*() {
      const routees: Array<Pid<M>> = []
      for (let i = 0; i < poolSize; i++) {
        const pid = yield* ctx.spawnChild(routee, `routee-${i}`, { passivateAfter: "never" })
        yield* ctx.watch(pid)
        routees.push(pid)
      }
      yield* ctx.set({ routees, next: 0 })
    })
  const definition = Actor.make(`Router(${routee.kind})`, {
    protocol: routee.protocol,
    initialState: (): State<M> => ({ routees: [], next: 0 }),
    receive: { ...receive, Terminated: onTerminated } as never,
    preStart: preStart as never,
    passivateAfter: "never"
  })
  return definition as unknown as Actor.Definition<M, State<M>, R>
}
