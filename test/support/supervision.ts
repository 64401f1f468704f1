/**
 * The worker actor of the supervision tests (issue 3): it counts, fails on
 * demand in every way a handler can fail, and logs its lifecycle.
 */
import { Data, Effect, Schema } from "effect"
import { Actor } from "../../src/index.js"

export class ErrA extends Data.TaggedError("ErrA")<{}> {}
export class ErrB extends Data.TaggedError("ErrB")<{}> {}

/** Fails the handler: a typed error (`A`, `B`), `Effect.die`, or a throw inside `Effect.sync`. */
export class Fail extends Schema.TaggedClass<Fail>()("Fail", {
  how: Schema.Literal("A", "B", "die", "throw")
}) {}

export class Add extends Schema.TaggedClass<Add>()("Add", { n: Schema.Number }) {}

export class Get extends Schema.TaggedRequest<Get>()("Get", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

/** Asks that fail in the handler (the failure is not in the request's schema). */
export class FailAsk extends Schema.TaggedRequest<FailAsk>()("FailAsk", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

export const failWith = (how: Fail["how"]): Effect.Effect<void, ErrA | ErrB> => {
  switch (how) {
    case "A":
      return Effect.fail(new ErrA())
    case "B":
      return Effect.fail(new ErrB())
    case "die":
      return Effect.die(new Error("died"))
    case "throw":
      return Effect.sync(() => {
        throw new RangeError("thrown")
      })
  }
}

/**
 * A counter that fails on `Fail`; `preStart` and `postStop` append to `log`
 * (`postStop` with the state it stopped with). `preStart` fails while
 * `failStarts` says so (for failed restarts).
 */
export const makeWorker = (
  log: Array<string>,
  options: Actor.SpawnOptions & { readonly failStarts?: (start: number) => boolean } = {}
): Actor.Definition<Fail | Add | Get | FailAsk, number, never> => {
  let starts = 0
  const { failStarts, ...spawnOptions } = options
  return Actor.make("Worker", {
    protocol: [Fail, Add, Get, FailAsk],
    initialState: () => 0,
    preStart: () =>
      Effect.suspend(() => {
        starts++
        log.push(`preStart ${starts}`)
        return failStarts?.(starts) === true ? Effect.fail(new ErrB()) : Effect.void
      }),
    postStop: (ctx: Actor.ReceiveContext<Fail | Add | Get | FailAsk, number>) => Effect.sync(() => log.push(`postStop ${ctx.state}`)),
    receive: {
      Fail: (msg) => failWith(msg.how),
      Add: (msg, ctx) => ctx.update((n) => n + msg.n),
      Get: (_, ctx) => ctx.get,
      FailAsk: () => Effect.fail(new ErrA())
    },
    ...spawnOptions
  })
}
