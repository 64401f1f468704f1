import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule, Schema } from "effect"
import { Actor, ActorSystem, Supervisor } from "../src/index.js"
import { nextEvent } from "./helpers.js"

const system = ActorSystem.make({ name: "behaviours", passivateAfter: "never" })

// ------------------------------------------------------- the account actor

class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {
  balance: Schema.Number,
  requested: Schema.Number
}) {}

class Authenticate extends Schema.TaggedRequest<Authenticate>()("Authenticate", {
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
class Balance extends Schema.TaggedRequest<Balance>()("Balance", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}
class Logout extends Schema.TaggedClass<Logout>()("Logout", {}) {}

type AccountMessage = Authenticate | Credit | Debit | Balance | Logout

/** Once authenticated: credit, debit, balance, logout. `Authenticate` is not part of it (unhandled). */
const authenticated: Actor.PartialBehavior<AccountMessage, number, never> = {
  Credit: (msg, ctx) => ctx.update((balance) => balance + msg.amount),
  Debit: (msg, ctx) =>
    ctx.state < msg.amount
      ? Effect.fail(new InsufficientFunds({ balance: ctx.state, requested: msg.amount }))
      : Effect.as(ctx.update((balance) => balance - msg.amount), ctx.state - msg.amount),
  Balance: (_, ctx) => ctx.get,
  Logout: (_, ctx) => ctx.unbecome
}

/** Locked until authenticated: every other message is unhandled (a deadletter; an ask fails). */
const Account = Actor.make("Account", {
  protocol: [Authenticate, Credit, Debit, Balance, Logout],
  initialState: () => 0,
  receive: {
    Authenticate: (msg, ctx) =>
      msg.password === "secret" ? Effect.as(ctx.become(authenticated), true) : Effect.succeed(false),
    Credit: (_, ctx) => ctx.unhandled(),
    Debit: (_, ctx) => Effect.as(ctx.unhandled(), 0),
    Balance: (_, ctx) => Effect.as(ctx.unhandled(), 0),
    Logout: (_, ctx) => ctx.unhandled()
  }
})

describe("A9 behaviours: the account actor", () => {
  it.scoped("authenticate, then credit and debit; logout locks it again; the balance is kept", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const account = yield* sys.spawn(Account, "account")

      const locked = yield* Effect.flip(account.ask(new Balance()))
      expect(locked._tag).toBe("AskFailed")
      yield* account.tell(new Credit({ amount: 100 }))
      const dead = yield* nextEvent(events, "Deadletter", (e) => (e.message as { _tag: string })._tag === "Credit")
      expect(dead.reason).toBe("unhandled")

      expect(yield* account.ask(new Authenticate({ password: "wrong" }))).toBe(false)
      expect(yield* account.ask(new Authenticate({ password: "secret" }))).toBe(true)
      yield* account.tell(new Credit({ amount: 100 }))
      expect(yield* account.ask(new Debit({ amount: 30 }))).toBe(70)
      const refused = yield* Effect.flip(account.ask(new Debit({ amount: 100 })))
      expect(refused).toEqual(new InsufficientFunds({ balance: 70, requested: 100 }))
      expect(yield* account.ask(new Balance())).toBe(70)

      // Authenticate is not in the authenticated behaviour: unhandled.
      const again = yield* Effect.flip(account.ask(new Authenticate({ password: "secret" })))
      expect(again._tag).toBe("AskFailed")

      yield* account.tell(new Logout())
      expect((yield* Effect.flip(account.ask(new Balance())))._tag).toBe("AskFailed")
      expect(yield* account.ask(new Authenticate({ password: "secret" }))).toBe(true)
      expect(yield* account.ask(new Balance())).toBe(70)
      expect(yield* account.isAlive).toBe(true)
    }))
})

// ------------------------------------------------------ the chameleon actor

class Which extends Schema.TaggedRequest<Which>()("Which", {
  payload: {},
  success: Schema.String,
  failure: Schema.Never
}) {}
class Become extends Schema.TaggedRequest<Become>()("Become", {
  payload: { to: Schema.String },
  success: Schema.String,
  failure: Schema.Never
}) {}
class Push extends Schema.TaggedClass<Push>()("Push", { to: Schema.String }) {}
class Pop extends Schema.TaggedClass<Pop>()("Pop", {}) {}
class Unbecome extends Schema.TaggedClass<Unbecome>()("Unbecome", {}) {}
class Boom extends Schema.TaggedClass<Boom>()("Boom", {}) {}

type ChameleonMessage = Which | Become | Push | Pop | Unbecome | Boom

/** A behaviour that answers `Which` with `name`; `Become` replies with the name of the behaviour it ran under. */
const behave = (name: string): Actor.Behavior<ChameleonMessage, void, never> => ({
  Which: () => Effect.succeed(name),
  Become: (msg, ctx) => Effect.as(ctx.become(behave(msg.to)), name),
  Push: (msg, ctx) => ctx.becomeStacked(behave(msg.to)),
  Pop: (_, ctx) => ctx.unbecomeStacked,
  Unbecome: (_, ctx) => ctx.unbecome,
  Boom: () => Effect.die("boom")
})

const Chameleon = Actor.make("Chameleon", {
  protocol: [Which, Become, Push, Pop, Unbecome, Boom],
  receive: behave("A")
})

describe("A9 become, unbecome, stacks", () => {
  it.scoped("the change applies from the next message: the current one finishes under the old behaviour", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Chameleon, "c")
      // Both requests are queued before the first one runs.
      const replies = yield* pid.batchAsk([new Become({ to: "B" }), new Which(), new Become({ to: "C" }), new Which()])
      expect(replies).toEqual(["A", "B", "B", "C"])
      yield* pid.tell(new Unbecome())
      expect(yield* pid.ask(new Which())).toBe("A")
    }))

  it.scoped("becomeStacked pushes, unbecomeStacked pops back down to the default", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Chameleon, "c")
      const which = pid.ask(new Which())
      yield* pid.tell(new Push({ to: "B" }))
      yield* pid.tell(new Push({ to: "C" }))
      expect(yield* which).toBe("C")
      yield* pid.tell(new Pop())
      expect(yield* which).toBe("B")
      yield* pid.tell(new Pop())
      expect(yield* which).toBe("A")
      // Popping an empty stack keeps the default.
      yield* pid.tell(new Pop())
      expect(yield* which).toBe("A")
      // become replaces the whole stack; unbecome returns to the default from any depth.
      yield* pid.tell(new Push({ to: "B" }))
      yield* pid.tell(new Push({ to: "C" }))
      yield* pid.tell(new Unbecome())
      expect(yield* which).toBe("A")
      yield* pid.tell(new Push({ to: "B" }))
      expect(yield* pid.ask(new Become({ to: "D" }))).toBe("B")
      yield* pid.tell(new Pop())
      expect(yield* which).toBe("A")
    }))

  it.scoped("a restart (by the supervisor or by pid.restart) resets to the default behaviour", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const events = yield* sys.subscribe
      const pid = yield* sys.spawn(Chameleon, "c", {
        supervisor: Supervisor.restart({ restarts: Schedule.recurs(5) })
      })
      yield* pid.tell(new Push({ to: "B" }))
      yield* pid.tell(new Push({ to: "C" }))
      expect(yield* pid.ask(new Which())).toBe("C")
      yield* pid.tell(new Boom())
      yield* nextEvent(events, "ActorRestarted")
      expect(yield* pid.ask(new Which())).toBe("A")
      // The stack was cleared too: a pop stays on the default.
      yield* pid.tell(new Pop())
      expect(yield* pid.ask(new Which())).toBe("A")
      yield* pid.ask(new Become({ to: "B" }))
      yield* pid.restart
      expect(yield* pid.ask(new Which())).toBe("A")
    }))

  it.scoped("Resume keeps the current behaviour", () =>
    Effect.gen(function*() {
      const sys = yield* system
      const pid = yield* sys.spawn(Chameleon, "c", { supervisor: Supervisor.resume })
      yield* pid.ask(new Become({ to: "B" }))
      yield* pid.tell(new Boom())
      expect(yield* pid.ask(new Which())).toBe("B")
    }))
})
