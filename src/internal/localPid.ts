/**
 * The PID of a local actor, and the tell as one small Effect object.
 *
 * @internal
 */
import { Duration, Effect, Effectable, Equal, Exit, Hash } from "effect"
import { NodeInspectSymbol } from "effect/Inspectable"
import { pipeArguments } from "effect/Pipeable"
import type { Address } from "../Address.js"
import { ActorStopped, BatchAskFailed, InvalidArgument, type MailboxFull, type UnknownMessage } from "../Errors.js"
import type { Tagged } from "../Message.js"
import type { ActorMetrics } from "../Metrics.js"
import * as Pid from "../Pid.js"
import type { Cell } from "./cell.js"
import { unwatch, watch } from "./cell/deathWatch.js"
import { type AnyPid, isCell, restartRequest } from "./cell/status.js"
import { stop } from "./cell/stopping.js"
import { currentRunnable, inlineRunnable } from "./dispatcher.js"
import { AskHandle, Envelope } from "./envelope.js"
import { TimerNode } from "./timers.js"
import { fiberRefReader, presentAsSyncStep } from "./effectInternals.js"

/**
 * The actor the running fiber is draining, if any: the sender of what that
 * fiber sends. Reading the current fiber is cheaper than
 * `Effect.withFiberRuntime` on the tell path.
 */
export const currentCell = (): Cell | undefined => {
  const runnable = inlineRunnable.current ?? runnableOfFiber()
  return isCell(runnable) ? runnable : undefined
}

const runnableOfFiber = fiberRefReader(currentRunnable)

const currentSender = (): AnyPid | undefined => currentCell()?.pid

/** The timeout of an ask in milliseconds (the system's default unless given), or why it is refused. */
const askTimeoutMillis = (cell: Cell, options: Pid.AskOptions | undefined): number | InvalidArgument => {
  const millis = options?.timeout === undefined
    ? cell.system.askTimeoutMillis
    : Duration.toMillis(Duration.decode(options.timeout))
  return millis > 0 ? millis : new InvalidArgument({ reason: `ask timeout must be positive, got ${millis} ms` })
}

/**
 * A tell as one small object: cheaper than a suspend and its closure. Sent
 * from outside any actor, it is also its own envelope (it holds the message,
 * and such a tell has no sender and no asker): one object per tell instead
 * of two. It never changes, so the same tell run twice is queued twice.
 */
class TellEffect extends Effectable.Class<void, ActorStopped | MailboxFull | UnknownMessage> implements Envelope {
  declare readonly sender: undefined
  declare readonly ask: undefined
  constructor(readonly cell: Cell, readonly message: Tagged) {
    super()
  }

  commit(): Effect.Effect<void, ActorStopped | MailboxFull | UnknownMessage> {
    const error = this.cell.send(this.message, currentSender(), undefined)
    return error === undefined ? Effect.void : Effect.fail(error)
  }
}

// When the send cannot fail (see `Cell.acceptsSurely`) a tell is one plain sync step, one run-loop turn instead of
// two (a commit, then its result), and the fast path of a handler that returns a tell runs it inline; otherwise
// the commit above returns the typed failure.
presentAsSyncStep(
  TellEffect.prototype,
  (tell) => tell.cell.acceptsSurely(tell.message),
  (tell) => {
    const sender = currentSender()
    tell.cell.sendSurely(sender === undefined ? tell : new Envelope(tell.message, sender, undefined))
  }
)

// The envelope fields of a tell, on the prototype: no field per tell.
Object.defineProperties(TellEffect.prototype, { sender: { value: undefined }, ask: { value: undefined } })

/**
 * The PID of a local actor is its cell: one object per actor (a PID object
 * beside each cell cost 40 bytes an actor). This base class holds the `Pid`
 * API; `Cell` (`cell.ts`) extends it with the machinery.
 */
export abstract class LocalPid extends TimerNode implements Pid.Pid<Tagged> {
  declare readonly [Pid.TypeId]: Pid.TypeId
  abstract readonly address: Address
  abstract readonly name: string

  /** The cell behind this PID: the same object. */
  get cell(): Cell {
    // Cell is the only subclass.
    return this as unknown as Cell
  }

  tell(message: Tagged): Effect.Effect<void, ActorStopped | MailboxFull | UnknownMessage> {
    return new TellEffect(this.cell, message)
  }

  ask(message: Tagged, options?: Pid.AskOptions): Effect.Effect<never, never> {
    const cell = this.cell
    const millis = askTimeoutMillis(cell, options)
    if (millis instanceof InvalidArgument) return Effect.fail(millis) as never
    // No canceler on purpose: returning one makes `Effect.async` wrap the ask
    // in an `onInterrupt`, which costs more than the whole rest of the ask.
    // An interrupted asker's handle stays linked until its deadline; a late
    // reply to it is dropped by the runtime, and the timeout is published as
    // a deadletter like any other.
    return Effect.async<unknown, unknown>((resume) => {
      const sender = currentSender()
      const error = cell.offerAsk(message, sender, new AskHandle(resume, cell, message, millis, sender))
      if (error !== undefined) resume(Exit.fail(error))
    }) as never
  }

  batchTell(messages: Iterable<Tagged>): Effect.Effect<void, ActorStopped | MailboxFull | UnknownMessage> {
    return Effect.suspend(() => {
      const sender = currentSender()
      for (const message of messages) {
        const error = this.cell.send(message, sender, undefined)
        if (error !== undefined) return Effect.fail(error)
      }
      return Effect.void
    })
  }

  /**
   * All requests are sent at once, in order, and one suspension waits for
   * every reply (no fiber per request): the replies come back in request
   * order, or the first failure fails the batch with its index.
   */
  batchAsk(messages: Iterable<Tagged>, options?: Pid.AskOptions): Effect.Effect<never, never> {
    const cell = this.cell
    const all = [...messages]
    const millis = askTimeoutMillis(cell, options)
    if (millis instanceof InvalidArgument) return Effect.fail(millis) as never
    return Effect.async<Array<unknown>, unknown>((resume) => {
      if (all.length === 0) return resume(Exit.succeed([]))
      const replies = new Array<unknown>(all.length)
      let remaining = all.length
      let settled = false
      const sender = currentSender()
      const failAt = (index: number) => (error: unknown) => new BatchAskFailed({ index, error })
      for (let index = 0; index < all.length && !settled; index++) {
        const message = all[index]!
        const handle = new AskHandle((reply) => {
          if (settled) return
          if (Exit.isExit(reply) && Exit.isSuccess(reply)) {
            replies[index] = reply.value
            if (--remaining === 0) {
              settled = true
              resume(Exit.succeed(replies))
            }
            return
          }
          settled = true
          resume(Effect.flatMap(Effect.mapError(reply, failAt(index)), () => Effect.succeed(replies)))
        }, cell, message, millis, sender)
        const error = cell.offerAsk(message, sender, handle)
        if (error !== undefined) {
          settled = true
          resume(Exit.fail(failAt(index)(error)))
        }
      }
    }) as never
  }

  get stop(): Effect.Effect<void> {
    return stop(this.cell, false, "Stopped")
  }

  get kill(): Effect.Effect<void> {
    return stop(this.cell, true, "Killed")
  }

  get restart(): Effect.Effect<void, never> {
    const cell = this.cell
    return Effect.async<unknown, unknown>((resume) => {
      const handle = new AskHandle(resume, cell, restartRequest, cell.system.askTimeoutMillis)
      if (!cell.sendSystem(restartRequest, undefined, handle)) {
        handle.done = true
        return resume(Exit.fail(new ActorStopped({ address: cell.addressString(), messageTag: "Restart" })))
      }
      cell.timers.add(handle, cell.system.askTimeoutMillis)
      return Effect.sync(() => handle.cancel())
    }) as never
  }

  get isAlive(): Effect.Effect<boolean> {
    return Effect.sync(() => this.cell.alive)
  }

  get metrics(): Effect.Effect<ActorMetrics> {
    return Effect.sync(() => {
      const snapshot = this.cell.snapshot()
      this.cell.system.exportMetrics()
      return snapshot
    })
  }

  watch(target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.sync(() => {
      if (target instanceof LocalPid) watch(this.cell, target.cell)
      else this.cell.system.remote?.watch(this.cell, target)
    })
  }

  unwatch(target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.sync(() => {
      if (target instanceof LocalPid) unwatch(this.cell, target.cell)
      else this.cell.system.remote?.unwatch(this.cell, target)
    })
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    return that instanceof LocalPid && (that.cell === this.cell || Equal.equals(this.address, that.address))
  }

  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.address.toString()))
  }

  pipe() {
    return pipeArguments(this, arguments)
  }

  override toString(): string {
    return `Pid(${this.address.toString()})`
  }

  toJSON(): unknown {
    return { _id: "Pid", address: this.address.toString() }
  }

  [NodeInspectSymbol](): unknown {
    return this.toJSON()
  }
}

// The type id lives on the prototype: one property less per actor.
Object.defineProperty(LocalPid.prototype, Pid.TypeId, { value: Pid.TypeId })
