/**
 * Envelopes carry a message through a mailbox, with its sender and, for an
 * ask, the handle that completes the asker.
 *
 * @internal
 */
import { Effect, Exit } from "effect"
import { AskTimeout } from "../Errors.js"
import type { Tagged } from "../Message.js"
import type { Pid } from "../Pid.js"
import { TimerNode } from "./timers.js"

/**
 * What a mailbox holds. `message` is the user's message (or a system
 * message); `sender` the PID that sent it, when sent from an actor.
 *
 * @since 0.1.0
 * @category models
 */
export class Envelope {
  constructor(
    readonly message: Tagged,
    readonly sender: Pid<never> | undefined,
    readonly ask: AskHandle | undefined
  ) {}
}

/** What an ask handle needs from the actor it was sent to. */
export interface AskTarget {
  readonly timers: { remove(node: TimerNode): void }
  addressString(): string
  /** The ask timed out: publish its deadletter. */
  askExpired(handle: AskHandle): void
}

/** The reply side of an ask: completes the asking fiber once. */
export class AskHandle extends TimerNode {
  done = false
  constructor(
    private readonly resume: (effect: Effect.Effect<unknown, unknown>) => void,
    readonly target: AskTarget,
    readonly message: Tagged,
    readonly timeoutMillis: number,
    /** The asking actor, for the deadletter of a timed-out ask. */
    readonly sender: Pid<never> | undefined = undefined
  ) {
    super()
  }

  succeed(value: unknown): void {
    if (this.done) return
    this.done = true
    this.target.timers.remove(this)
    this.resume(Exit.succeed(value))
  }

  fail(error: unknown): void {
    if (this.done) return
    this.done = true
    this.target.timers.remove(this)
    this.resume(Exit.fail(error))
  }

  /** The asker was interrupted: forget the reply. */
  cancel(): void {
    if (this.done) return
    this.done = true
    this.target.timers.remove(this)
  }

  onTimeout(): void {
    if (this.done) return
    this.done = true
    this.resume(
      Effect.fail(
        new AskTimeout({
          address: this.target.addressString(),
          messageTag: this.message._tag,
          timeoutMillis: this.timeoutMillis
        })
      )
    )
    this.target.askExpired(this)
  }
}
