/**
 * The receive context: what a handler is given besides its message (its
 * state, identity, sender, children, behaviour, stash and so on). One per
 * actor, reading the message being processed.
 *
 * @internal
 */
import { Cause, Effect, type Fiber, Option } from "effect"
import type * as Actor from "../../Actor.js"
import type { Address } from "../../Address.js"
import { AskFailed, StashFull, type TellError, type UnknownMessage } from "../../Errors.js"
import type { Tagged } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import type { Cell } from "../cell.js"
import { LocalPid } from "../localPid.js"
import { type AnyBehavior, HANDED_OFF, squashMessage } from "./status.js"
import { requestStop, stop } from "./stopping.js"

const handoff: Actor.Handoff = Symbol.for("effect-actors/Actor/Handoff") as Actor.Handoff

/** The receive context of a cell: one per actor, reading the current message. */
export class ReceiveContextImpl implements Actor.ReceiveContext<Tagged, unknown, unknown> {
  constructor(readonly cell: Cell) {}

  get self(): Pid.Pid<Tagged> {
    return this.cell.pid
  }

  get address(): Address {
    return this.cell.address
  }

  get fence(): Option.Option<number> {
    const fence = this.cell.system.cluster?.fence(this.cell)
    return fence === undefined ? Option.none() : Option.some(fence)
  }

  get sender(): Option.Option<Pid.Pid> {
    const sender = this.cell.current?.sender
    return sender === undefined ? Option.none() : Option.some(sender as unknown as Pid.Pid)
  }

  get state(): unknown {
    return this.cell.state
  }

  get get(): Effect.Effect<unknown> {
    return Effect.sync(() => this.cell.state)
  }

  set(state: unknown): Effect.Effect<void> {
    return Effect.sync(() => {
      this.cell.state = state
    })
  }

  update(f: (state: unknown) => unknown): Effect.Effect<void> {
    return Effect.sync(() => {
      this.cell.state = f(this.cell.state)
    })
  }

  modify<A>(f: (state: unknown) => readonly [A, unknown]): Effect.Effect<A> {
    return Effect.sync(() => {
      const [a, state] = f(this.cell.state)
      this.cell.state = state
      return a
    })
  }

  respond(reply: unknown): Effect.Effect<Actor.Handoff> {
    return Effect.sync(() => {
      const envelope = this.cell.current
      if (envelope?.ask !== undefined) {
        this.cell.handOff()
        envelope.ask.succeed(reply)
      }
      return handoff
    })
  }

  spawnChild<M2 extends Tagged, S2, R2>(
    definition: Actor.Definition<M2, S2, R2>,
    name: string,
    options?: Actor.SpawnOptions
  ) {
    return this.cell.system.spawn(definition, name, options, this.cell)
  }

  get children(): Effect.Effect<ReadonlyArray<Pid.Pid>> {
    return Effect.sync(() => {
      const children = this.cell.x?.children
      return children === undefined ? [] : [...children.values()].map((c) => c.pid)
    })
  }

  stop(pid: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!(pid instanceof LocalPid)) return pid.stop
      if (pid.cell === this.cell) {
        requestStop(this.cell, false, "Stopped")
        return Effect.void
      }
      return stop(pid.cell, false, "Stopped")
    })
  }

  watch(pid: Pid.Pid<never>): Effect.Effect<void> {
    return this.cell.pid.watch(pid)
  }

  unwatch(pid: Pid.Pid<never>): Effect.Effect<void> {
    return this.cell.pid.unwatch(pid)
  }

  unhandled(): Effect.Effect<void> {
    return Effect.sync(() => {
      const envelope = this.cell.current
      if (envelope === undefined) return
      this.cell.handOff()
      this.cell.deadletter(envelope.message, envelope.sender, "unhandled")
      envelope.ask?.fail(
        new AskFailed({ address: this.cell.addressString(), messageTag: envelope.message._tag, reason: "unhandled" })
      )
    })
  }

  become(behavior: object): Effect.Effect<void> {
    return Effect.sync(() => {
      this.cell.extras.stack = undefined
      this.cell.behavior = behavior as AnyBehavior
    })
  }

  get unbecome(): Effect.Effect<void> {
    return Effect.sync(() => {
      this.cell.extras.stack = undefined
      this.cell.behavior = this.cell.def.receive as unknown as AnyBehavior
    })
  }

  becomeStacked(behavior: object): Effect.Effect<void> {
    return Effect.sync(() => {
      const x = this.cell.extras
      ;(x.stack ??= []).push(this.cell.behavior)
      this.cell.behavior = behavior as AnyBehavior
    })
  }

  get unbecomeStacked(): Effect.Effect<void> {
    return Effect.sync(() => {
      const previous = this.cell.extras.stack?.pop()
      this.cell.behavior = previous ?? (this.cell.def.receive as unknown as AnyBehavior)
    })
  }

  get stash(): Effect.Effect<Actor.Handoff, StashFull> {
    return Effect.as(stashCurrent(this.cell), handoff)
  }

  get unstash(): Effect.Effect<void> {
    return Effect.sync(() => unstash(this.cell, false))
  }

  get unstashAll(): Effect.Effect<void> {
    return Effect.sync(() => unstash(this.cell, true))
  }

  forward(to: Pid.Pid<Tagged>): Effect.Effect<Actor.Handoff, TellError | UnknownMessage> {
    return Effect.suspend((): Effect.Effect<Actor.Handoff, TellError | UnknownMessage> => {
      const envelope = this.cell.current
      if (envelope === undefined) return Effect.succeed(handoff)
      this.cell.handOff()
      if (to instanceof LocalPid) {
        const error = to.cell.sendEnvelope(envelope)
        return error === undefined ? Effect.succeed(handoff) : Effect.fail(error)
      }
      const ask = envelope.ask
      if (ask === undefined) return Effect.as(to.tell(envelope.message), handoff)
      // A request forwarded to another node: its reply (or failure) completes
      // the original asker; this actor does not wait for it.
      return Effect.as(
        Effect.forkDaemon(
          Effect.matchEffect(to.ask(envelope.message as never), {
            onFailure: (error) => Effect.sync(() => ask.fail(error)),
            onSuccess: (reply) => Effect.sync(() => ask.succeed(reply))
          })
        ),
        handoff
      )
    })
  }

  pipeTo<A, E, M2 extends Tagged>(
    effect: Effect.Effect<A, E, unknown>,
    options: {
      readonly to?: Pid.Pid<M2>
      readonly onSuccess: (a: A) => M2
      readonly onFailure?: (e: E) => M2
    }
  ): Effect.Effect<void> {
    const cell = this.cell
    const target = (options.to ?? cell.pid) as Pid.Pid<M2>
    const deliver = effect.pipe(
      Effect.matchCauseEffect({
        onSuccess: (a) => target.tell(options.onSuccess(a)),
        onFailure: (cause) => {
          const failure = Cause.failureOption(cause)
          if (options.onFailure !== undefined && Option.isSome(failure)) {
            return target.tell(options.onFailure(failure.value))
          }
          return Effect.sync(() => cell.deadletter(cause, cell.pid, `pipeTo failed: ${squashMessage(cause)}`))
        }
      }),
      Effect.catchAll((error) =>
        Effect.sync(() => cell.deadletter(error, cell.pid, `pipeTo could not deliver: ${error._tag}`))
      )
    ) as Effect.Effect<void>
    return Effect.flatMap(Effect.forkDaemon(deliver), (fiber) => Effect.sync(() => trackPipe(cell, fiber)))
  }
}

/** Puts the current message aside (`ctx.stash`), up to the stash capacity. */
const stashCurrent = (cell: Cell): Effect.Effect<void, StashFull> =>
  Effect.suspend(() => {
    const envelope = cell.current
    if (envelope === undefined) return Effect.void
    const x = cell.extras
    const stash = x.stash ??= []
    if (stash.length >= cell.options.stashCapacity) {
      return Effect.fail(new StashFull({ address: cell.addressString(), capacity: cell.options.stashCapacity }))
    }
    stash.push(envelope)
    cell.flags |= HANDED_OFF
    return Effect.void
  })

/** Serves the oldest stashed message (or all of them) before the mailbox. */
const unstash = (cell: Cell, all: boolean): void => {
  const x = cell.extras
  const stash = x.stash
  if (stash === undefined || stash.length === 0) return
  const taken = all ? stash.splice(0) : stash.splice(0, 1)
  x.unstashed = x.unstashed === undefined ? taken : [...x.unstashed, ...taken]
}

/** A `pipeTo` fiber, interrupted when the actor stops. */
const trackPipe = (cell: Cell, fiber: Fiber.RuntimeFiber<unknown, unknown>): void => {
  const x = cell.extras
  ;(x.pipes ??= new Set()).add(fiber)
  fiber.addObserver(() => x.pipes?.delete(fiber))
}
