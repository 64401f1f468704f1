/**
 * A1 type-level: the services a definition needs are inferred from its
 * handlers, and a handler that only throws needs none (it used to infer
 * `unknown`, which turned into an unreadable error at `spawn`). Checked by
 * `npm run typecheck`; the assertions cost nothing at run time.
 */
import { describe, expectTypeOf, it } from "@effect/vitest"
import { Context, Effect, Schema } from "effect"
import { Actor, ActorSystem, type Pid } from "../src/index.js"

class Boom extends Schema.TaggedClass<Boom>()("Boom", {}) {}
class Ok extends Schema.TaggedClass<Ok>()("Ok", {}) {}
class Get extends Schema.TaggedRequest<Get>()("Get", { payload: {}, success: Schema.Number, failure: Schema.Never }) {}

class Db extends Context.Tag("test/Db")<Db, { readonly read: Effect.Effect<number> }>() {}

const failure = (): never => {
  throw new Error("boom")
}

describe("A1 handler services are inferred", () => {
  it("a handler that throws needs no service", () => {
    const Thrower = Actor.make("Thrower", {
      protocol: [Boom, Ok, Get],
      receive: {
        Boom: () => {
          throw new Error("boom")
        },
        Ok: () => Effect.void,
        Get: () => failure()
      }
    })
    expectTypeOf<Actor.Context<typeof Thrower>>().toEqualTypeOf<never>()
    expectTypeOf<Actor.Messages<typeof Thrower>>().toEqualTypeOf<Boom | Ok | Get>()
    const spawned = ActorSystem.spawn(Thrower, "thrower")
    expectTypeOf(spawned).toEqualTypeOf<
      Effect.Effect<Pid.Pid<Boom | Ok | Get>, ActorSystem.SpawnError, ActorSystem.ActorSystem>
    >()
  })

  it("a throwing handler beside one that needs a service: just that service", () => {
    const Reader = Actor.make("Reader", {
      protocol: [Boom, Get],
      receive: {
        Boom: () => {
          throw new Error("boom")
        },
        Get: () => Effect.flatMap(Db, (db) => db.read)
      }
    })
    expectTypeOf<Actor.Context<typeof Reader>>().toEqualTypeOf<Db>()
  })

  it("throwing lifecycle hooks need no service; a hook that uses one does", () => {
    const Hooks = Actor.make("Hooks", {
      protocol: [Ok],
      receive: { Ok: () => Effect.void },
      preStart: () => failure(),
      postStop: () => Effect.asVoid(Db)
    })
    expectTypeOf<Actor.Context<typeof Hooks>>().toEqualTypeOf<Db>()
    const Throwing = Actor.make("Throwing", {
      protocol: [Ok],
      receive: { Ok: () => Effect.void },
      preStart: () => failure(),
      postStop: () => failure()
    })
    expectTypeOf<Actor.Context<typeof Throwing>>().toEqualTypeOf<never>()
  })

  it("handlers that fail or die need no service; a union of effects needs the union of services", () => {
    class Clock extends Context.Tag("test/Clock")<Clock, { readonly now: Effect.Effect<number> }>() {}
    const Mixed = Actor.make("Mixed", {
      protocol: [Boom, Ok, Get],
      initialState: () => 0,
      receive: {
        Boom: () => Effect.die("boom"),
        Ok: () => Effect.fail(new Error("no")),
        Get: (_, ctx) =>
          ctx.state === 0 ? Effect.flatMap(Db, (db) => db.read) : Effect.flatMap(Clock, (clock) => clock.now)
      }
    })
    expectTypeOf<Actor.Context<typeof Mixed>>().toEqualTypeOf<Db | Clock>()
  })

  it("the spawn of a definition that needs a service asks for it", () => {
    const Reader = Actor.make("Reader", {
      protocol: [Get],
      receive: { Get: () => Effect.flatMap(Db, (db) => db.read) }
    })
    expectTypeOf(ActorSystem.spawn(Reader, "reader")).toEqualTypeOf<
      Effect.Effect<Pid.Pid<Get>, ActorSystem.SpawnError, Db | ActorSystem.ActorSystem>
    >()
  })
})
