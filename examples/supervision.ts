/**
 * Supervision, restarts, passivation, behaviours, stash and the rest of
 * messaging, in one runnable tour. Run with `npx tsx examples/supervision.ts`.
 * `docs/supervision.md` explains each part.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Data, Effect, Schedule, Schema } from "effect"
import { Actor, ActorSystem, Supervisor } from "../src/index.js"

// ------------------------------------------------------------- supervision

class Flaky extends Data.TaggedError("Flaky")<{}> {}
class Broken extends Data.TaggedError("Broken")<{}> {}

class Work extends Schema.TaggedClass<Work>()("Work", { outcome: Schema.Literal("ok", "flaky", "broken") }) {}
class Done extends Schema.TaggedRequest<Done>()("Done", { payload: {}, success: Schema.Number, failure: Schema.Never }) {}

/** Flaky failures are dropped (Resume), broken ones restart the worker; anything else (a defect) stops it. */
const strategy = Supervisor.make({
  decide: Supervisor.byTag({ Flaky: "Resume", Broken: "Restart" }, "Stop"),
  // At most 3 restarts within 10 seconds, exponential backoff from 100 ms with jitter.
  restarts: Schedule.exponential("100 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3))),
  resetAfter: "10 seconds"
})

const Worker = Actor.make("Worker", {
  protocol: [Work, Done],
  initialState: () => 0,
  supervisor: strategy,
  preStart: () => Effect.log("worker starting"),
  receive: {
    Work: (msg, ctx) =>
      msg.outcome === "flaky"
        ? Effect.fail(new Flaky())
        : msg.outcome === "broken"
        ? Effect.fail(new Broken())
        : ctx.update((n) => n + 1),
    Done: (_, ctx) => ctx.get
  }
})

// ----------------------------------------------------- behaviours (A9)

class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {
  balance: Schema.Number
}) {}
class Login extends Schema.TaggedRequest<Login>()("Login", {
  payload: { password: Schema.String },
  success: Schema.Boolean,
  failure: Schema.Never
}) {}
class Credit extends Schema.TaggedClass<Credit>()("Credit", { amount: Schema.Number }) {}
class Debit extends Schema.TaggedRequest<Debit>()("Debit", {
  payload: { amount: Schema.Number },
  success: Schema.Number,
  failure: InsufficientFunds
}) {}
class Logout extends Schema.TaggedClass<Logout>()("Logout", {}) {}

type AccountMessage = Login | Credit | Debit | Logout

const open: Actor.PartialBehavior<AccountMessage, number, never> = {
  Credit: (msg, ctx) => ctx.update((balance) => balance + msg.amount),
  Debit: (msg, ctx) =>
    ctx.state < msg.amount
      ? Effect.fail(new InsufficientFunds({ balance: ctx.state }))
      : Effect.as(ctx.update((balance) => balance - msg.amount), ctx.state - msg.amount),
  Logout: (_, ctx) => ctx.unbecome
}

const Account = Actor.make("Account", {
  protocol: [Login, Credit, Debit, Logout],
  initialState: () => 0,
  receive: {
    Login: (msg, ctx) => msg.password === "secret" ? Effect.as(ctx.become(open), true) : Effect.succeed(false),
    Credit: (_, ctx) => ctx.unhandled(),
    Debit: (_, ctx) => Effect.as(ctx.unhandled(), 0),
    Logout: (_, ctx) => ctx.unhandled()
  }
})

// ------------------------------------------------------------ stash (A10)

class Job extends Schema.TaggedClass<Job>()("Job", { id: Schema.Number }) {}
class Ready extends Schema.TaggedClass<Ready>()("Ready", {}) {}
class Jobs extends Schema.TaggedRequest<Jobs>()("Jobs", {
  payload: {},
  success: Schema.Array(Schema.Number),
  failure: Schema.Never
}) {}

/** Sets jobs aside until it is ready, then takes them in arrival order, ahead of newer ones. */
const Loader = Actor.make("Loader", {
  protocol: [Job, Ready, Jobs],
  initialState: () => ({ ready: false, done: [] as ReadonlyArray<number> }),
  stashCapacity: 100,
  receive: {
    Job: (msg, ctx) => ctx.state.ready ? ctx.update((s) => ({ ...s, done: [...s.done, msg.id] })) : ctx.stash,
    Ready: (_, ctx) => Effect.zipRight(ctx.update((s) => ({ ...s, ready: true })), ctx.unstashAll),
    Jobs: (_, ctx) => Effect.succeed(ctx.state.done)
  }
})

// ------------------------------------------------------ messaging (E3–E6)

class Lookup extends Schema.TaggedRequest<Lookup>()("Lookup", {
  payload: { key: Schema.String },
  success: Schema.String,
  failure: Schema.Never
}) {}
class Fetched extends Schema.TaggedClass<Fetched>()("Fetched", { value: Schema.String }) {}
class FetchFailed extends Schema.TaggedClass<FetchFailed>()("FetchFailed", { reason: Schema.String }) {}
class Fetch extends Schema.TaggedClass<Fetch>()("Fetch", { key: Schema.String }) {}

type StoreMessage = Lookup | Fetch | Fetched | FetchFailed

/** Answers lookups; fetches in the background with pipeTo and logs what comes back. */
const Store = Actor.make("Store", {
  protocol: [Lookup, Fetch, Fetched, FetchFailed],
  receive: {
    Lookup: (msg) => Effect.succeed(`value of ${msg.key}`),
    Fetch: (msg, ctx) =>
      ctx.pipeTo(msg.key === "" ? Effect.fail("empty key") : Effect.as(Effect.sleep("50 millis"), msg.key.toUpperCase()), {
        onSuccess: (value): StoreMessage => new Fetched({ value }),
        onFailure: (reason) => new FetchFailed({ reason })
      }),
    Fetched: (msg) => Effect.log(`fetched ${msg.value}`),
    FetchFailed: (msg) => Effect.log(`fetch failed: ${msg.reason}`)
  }
})

/** Forwards lookups to a store: the store answers the original asker. */
const makeFront = (store: import("../src/Pid.js").Pid<StoreMessage>) =>
  Actor.make("Front", {
    protocol: [Lookup, Fetch, Fetched, FetchFailed],
    receive: {
      // Once forwarded, the reply comes from the store (forward succeeds with Actor.Handoff).
      Lookup: (_, ctx) => Effect.orDie(ctx.forward(store)),
      Fetch: (_, ctx) => Effect.orDie(ctx.forward(store)),
      Fetched: () => Effect.void,
      FetchFailed: () => Effect.void
    }
  })

// ------------------------------------------------------------------- tour

const program = Effect.gen(function*() {
  const system = yield* ActorSystem.ActorSystem
  const events = yield* system.subscribe

  // Supervision: Resume keeps the count, Restart resets it.
  const worker = yield* system.spawn(Worker, "worker")
  yield* worker.batchTell([new Work({ outcome: "ok" }), new Work({ outcome: "flaky" }), new Work({ outcome: "ok" })])
  yield* Effect.log(`after a flaky failure: ${yield* worker.ask(new Done())}`)
  yield* worker.tell(new Work({ outcome: "broken" }))
  yield* Effect.log(`after a restart: ${yield* worker.ask(new Done())}`)
  yield* Effect.log(`restarts so far: ${(yield* worker.metrics).restarts}`)

  // Restart by hand, by PID or by name: same PID, same mailbox, fresh state. The
  // restart goes ahead of queued messages; the Work queued before it runs after it.
  yield* worker.tell(new Work({ outcome: "ok" }))
  yield* system.respawn("worker")
  yield* Effect.log(`after respawn: ${yield* worker.ask(new Done())}`)

  // Behaviours.
  const account = yield* system.spawn(Account, "account")
  yield* account.ask(new Login({ password: "secret" }))
  yield* account.tell(new Credit({ amount: 100 }))
  yield* Effect.log(`balance after debit: ${yield* account.ask(new Debit({ amount: 30 }))}`)
  const refused = yield* Effect.flip(account.ask(new Debit({ amount: 500 })))
  yield* Effect.log(`refused: ${refused._tag === "InsufficientFunds" ? `balance is ${refused.balance}` : refused._tag}`)

  // Stash.
  const loader = yield* system.spawn(Loader, "loader")
  yield* loader.batchTell([new Job({ id: 1 }), new Job({ id: 2 }), new Ready(), new Job({ id: 3 })])
  yield* Effect.log(`jobs in order: ${(yield* loader.ask(new Jobs())).join(", ")}`)

  // Forward, batchAsk, pipeTo.
  const store = yield* system.spawn(Store, "store")
  const front = yield* system.spawn(makeFront(store), "front")
  yield* Effect.log(`forwarded ask: ${yield* front.ask(new Lookup({ key: "a" }))}`)
  const replies = yield* store.batchAsk([new Lookup({ key: "x" }), new Lookup({ key: "y" })])
  yield* Effect.log(`batchAsk: ${replies.join(" | ")}`)
  yield* front.tell(new Fetch({ key: "b" }))
  yield* front.tell(new Fetch({ key: "" }))
  yield* Effect.sleep("100 millis")

  // Passivation: an idle actor is stopped and removed.
  yield* system.spawn(Worker, "idle", { passivateAfter: "50 millis" })
  yield* Effect.sleep("100 millis")
  yield* Effect.log(`idle actor still there: ${(yield* system.lookup("idle"))._tag === "Some"}`)

  const seen = (yield* events.takeAll).pipe((chunk) => [...chunk].map((e) => e._tag))
  yield* Effect.log(`events: ${[...new Set(seen)].join(", ")}`)
})

Effect.scoped(program).pipe(
  Effect.provide(ActorSystem.layer({ name: "supervision", passivateAfter: "2 minutes" })),
  NodeRuntime.runMain
)
