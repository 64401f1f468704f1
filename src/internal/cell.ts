/**
 * The actor cell: one actor's state, mailbox and lifecycle.
 *
 * A cell is a plain object. While idle it holds no fiber; the first message
 * into an idle cell puts it on the dispatcher's ready queue, and a worker
 * fiber drains it in batches (`run`). Per message the hot path is: poll the
 * mailbox, look the handler up by tag, run its Effect, and (for an ask) reply
 * with its success. Failures are caught once around the whole batch, not per
 * message, and handed to the supervisor.
 *
 * Optional parts (children, watchers, stash, behaviour stack, the receive
 * context) live in `Extras`, allocated on first use, so an idle actor costs a
 * few hundred bytes.
 *
 * @internal
 */
import { Cause, Duration, Effect, Effectable, Equal, Exit, Fiber, FiberRef, Hash, HashMap, Option, Schedule, Schema } from "effect"
import { pipeArguments } from "effect/Pipeable"
import type * as Actor from "../Actor.js"
import { Address } from "../Address.js"
import {
  ActorStopped,
  AskFailed,
  BatchAskFailed,
  InvalidArgument,
  MailboxFull,
  StashFull,
  type TellError,
  UnknownMessage
} from "../Errors.js"
import * as Events from "../EventStream.js"
import type { ActorMetrics } from "../Metrics.js"
import { type Mailbox, type MailboxFactory, unbounded as unboundedMailbox } from "../Mailbox.js"
import { isRequest, PoisonPill, type Tagged, Terminated } from "../Message.js"
import * as Pid from "../Pid.js"
import type { Strategy } from "../Supervisor.js"
import type { Runnable, Worker } from "./dispatcher.js"
import { currentRunnable } from "./dispatcher.js"
import { AskHandle, type AskTarget, Envelope } from "./envelope.js"
import { currentFiber, MISS, runIfSync } from "./fastpath.js"
import type { SystemImpl } from "./system.js"
import { TimerNode } from "./timers.js"

type AnyDefinition = Actor.Definition<Tagged, unknown, unknown>
type AnyHandler = (message: Tagged, ctx: unknown) => Effect.Effect<unknown, unknown, unknown>
type AnyBehavior = Readonly<Record<string, AnyHandler | undefined>>
type AnyPid = Pid.Pid<never>

/** Resolved per-actor settings; actors with defaults share one object. */
export interface CellOptions {
  readonly mailbox: MailboxFactory
  readonly supervisor: Strategy
  readonly passivateMillis: number
  readonly stashCapacity: number
}

export const STARTING = 0
export const RUNNING = 1
export const STOPPING = 2
export const STOPPED = 3

export const SCHEDULED = 1
export const KILLED = 2
const SUSPENDED = 4
const FINALIZING = 8
/** The current message was stashed, forwarded or answered by `respond`: no auto-reply. */
const HANDED_OFF = 16
const PASSIVATED = 32

/** Messages processed per activation before the cell yields its worker. */
const THROUGHPUT = 256

/** What `invoke` returns when it processed every message itself. */
const DRAINED: unique symbol = Symbol.for("effect-actors/drained")
const drained = Effect.succeed(DRAINED)

/** A failure escalated by a child; processed by the parent as its own failure. */
class Escalation {
  readonly _tag = "$Escalation"
  constructor(readonly child: Cell, readonly cause: Cause.Cause<unknown>) {}
}

/** A restart requested through `pid.restart`, processed in order with system messages. */
class RestartRequest {
  readonly _tag = "$Restart"
}
const restartRequest = new RestartRequest()

const squashMessage = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) return error.message === "" ? error.name : `${error.name}: ${error.message}`
  if (typeof error === "object" && error !== null && "_tag" in error) return String(error._tag)
  return String(error)
}

class Extras {
  children: Map<string, Cell> | undefined = undefined
  watchers: Set<Cell> | undefined = undefined
  watching: Set<Cell> | undefined = undefined
  stack: Array<AnyBehavior> | undefined = undefined
  stash: Array<Envelope> | undefined = undefined
  /** Unstashed messages, served before the mailbox. */
  unstashed: Array<Envelope> | undefined = undefined
  /** System messages (Terminated, escalations, restart requests), served first. */
  system: Array<Envelope> | undefined = undefined
  ctx: ReceiveContextImpl | undefined = undefined
  loop: Effect.Effect<void, unknown> | undefined = undefined
  budget = 0
  stopWaiters: Array<() => void> | undefined = undefined
  stopReason: Events.StopReason = "Stopped"
  stopError: string | undefined = undefined
  address: Address | undefined = undefined
  restarts = 0
  restartDriver: Schedule.ScheduleDriver<unknown, unknown> | undefined = undefined
  /** When the last supervised failure happened (for `resetAfter`); -1 before the first. */
  lastFailureAt = -1
  /** The child whose escalation this actor escalated in turn: resumed with it. */
  escalatedChild: Cell | undefined = undefined
  pipes: Set<Fiber.RuntimeFiber<unknown, unknown>> | undefined = undefined
  /** A handler Effect built by `askDirect` and left for a worker to run. */
  prebuilt: { readonly envelope: Envelope; readonly effect: Effect.Effect<unknown, unknown> } | undefined = undefined
  /** Log annotations by message tag (see `logAnnotations`). */
  annotations: Map<string | undefined, HashMap.HashMap<string, unknown>> | undefined = undefined
  /** Clock nanoseconds when the current message started (with `processingTime`). */
  startedAt = 0
  /** How long the last message took, in nanoseconds (with `processingTime`). */
  lastNanos = -1
}

/** @internal */
export class Cell extends TimerNode implements Runnable, AskTarget {
  status = STARTING
  flags = 0
  mailbox: Mailbox | undefined = undefined
  state: unknown = undefined
  behavior: AnyBehavior
  current: Envelope | undefined = undefined
  processed = 0
  runner: Worker | undefined = undefined
  x: Extras | undefined = undefined
  readonly pid: LocalPid
  readonly timers: SystemImpl["timers"]

  constructor(
    readonly system: SystemImpl,
    readonly def: AnyDefinition,
    readonly name: string,
    readonly parent: Cell | undefined,
    readonly context: import("effect").Context.Context<never>,
    readonly options: CellOptions
  ) {
    super()
    this.behavior = def.receive as unknown as AnyBehavior
    this.pid = new LocalPid(this)
    this.timers = system.timers
  }

  get extras(): Extras {
    return this.x ??= new Extras()
  }

  get address(): Address {
    const x = this.extras
    return x.address ??= new Address({
      system: this.system.name,
      host: this.system.host,
      port: this.system.port,
      path: this.path()
    })
  }

  addressString(): string {
    return this.address.toString()
  }

  path(): Array<string> {
    return this.parent === undefined ? [this.name] : [...this.parent.path(), this.name]
  }

  /** Whether `ancestor` is this cell's parent, grandparent, and so on. */
  descendsFrom(ancestor: Cell): boolean {
    for (let cell = this.parent; cell !== undefined; cell = cell.parent) if (cell === ancestor) return true
    return false
  }

  get isAlive(): boolean {
    return this.status === RUNNING
  }

  get isStopped(): boolean {
    return this.status === STOPPED
  }

  // ---------------------------------------------------------------- sending

  /** Offers a message; returns the error to give the sender, or undefined. */
  send(message: Tagged, sender: AnyPid | undefined, ask: AskHandle | undefined): ActorStopped | MailboxFull | UnknownMessage | undefined {
    if (this.status >= STOPPING) {
      this.deadletter(message, sender, "actor stopped")
      return new ActorStopped({ address: this.addressString(), messageTag: message._tag })
    }
    if (!this.def.tags.has(message._tag) && !(message instanceof PoisonPill) && this.def.receiveAny === undefined) {
      this.deadletter(message, sender, "unknown message")
      return new UnknownMessage({ address: this.addressString(), messageTag: message._tag })
    }
    const mailbox = this.mailbox ??= this.options.mailbox.make()
    if (!mailbox.offer(new Envelope(message, sender, ask))) {
      this.deadletter(message, sender, "mailbox full")
      return new MailboxFull({
        address: this.addressString(),
        messageTag: message._tag,
        capacity: mailbox.capacity ?? Infinity
      })
    }
    if ((this.flags & (SCHEDULED | SUSPENDED)) === 0 && this.status === RUNNING) {
      this.flags |= SCHEDULED
      this.system.dispatcher.schedule(this)
    }
    return undefined
  }

  /**
   * Direct dispatch of an ask to an idle actor: the handler is called in the
   * asker's stack, and when its Effect is a plain success or sync thunk (see
   * `fastpath.ts`) the reply is there at once, with no worker woken and no
   * fiber suspended. Only such Effects run here: they read no context, cannot
   * suspend and cannot be interrupted, so the asker's fiber lends nothing but
   * its stack. Any other Effect is handed, already built, to a worker, first
   * in line, exactly as if it had come through the mailbox. Returns false
   * when the actor is not idle (the ask then takes the mailbox).
   */
  askDirect(message: Tagged, sender: AnyPid | undefined, handle: AskHandle): boolean {
    if (this.status !== RUNNING || (this.flags & (SCHEDULED | SUSPENDED | KILLED | FINALIZING)) !== 0) return false
    if (!this.isEmpty()) return false
    const x = this.extras
    const handler = this.behavior[message._tag]
    if (handler === undefined || !this.def.tags.has(message._tag)) return false
    const envelope = new Envelope(message, sender, handle)
    this.flags |= SCHEDULED
    this.current = envelope
    if (this.system.processingTime) x.startedAt = this.timers.nanos()
    let effect: Effect.Effect<unknown, unknown>
    try {
      effect = handler(message, this.ctx()) as Effect.Effect<unknown, unknown>
      const value = runIfSync(effect)
      if (value !== MISS) {
        this.step(value)
        if (this.isEmpty()) {
          this.flags &= ~SCHEDULED
          this.armPassivation()
        } else {
          this.system.dispatcher.schedule(this)
        }
        return true
      }
    } catch (defect) {
      effect = Effect.die(defect)
    }
    this.current = undefined
    x.prebuilt = { envelope, effect }
    ;(x.system ??= []).unshift(envelope)
    this.timers.add(handle, handle.timeoutMillis)
    this.system.dispatcher.schedule(this)
    return true
  }

  /**
   * Sends an ask: directly when the actor is idle (`askDirect`), otherwise
   * through the mailbox with its deadline linked. Returns the refusal, after
   * which the handle is done.
   */
  offerAsk(
    message: Tagged,
    sender: AnyPid | undefined,
    handle: AskHandle
  ): ActorStopped | MailboxFull | UnknownMessage | undefined {
    if (this.askDirect(message, sender, handle)) return undefined
    const error = this.send(message, sender, handle)
    if (error !== undefined) {
      handle.done = true
      return error
    }
    this.timers.add(handle, handle.timeoutMillis)
    return undefined
  }

  /** Starts the idle countdown (passivation), when the actor has one. */
  armPassivation(): void {
    if (this.options.passivateMillis > 0) this.timers.add(this, this.options.passivateMillis)
  }

  /** Whether `send` of this message cannot fail now (the default unbounded mailbox, a known tag, alive). */
  acceptsSurely(message: Tagged): boolean {
    return this.status < STOPPING && this.options.mailbox === unboundedMailbox &&
      (this.def.tags.has(message._tag) || this.def.receiveAny !== undefined)
  }

  /** Delivers an envelope as it is (forward, unstash): the original sender and asker go with it. */
  sendEnvelope(envelope: Envelope): ActorStopped | MailboxFull | UnknownMessage | undefined {
    const error = this.send(envelope.message, envelope.sender, envelope.ask)
    if (error !== undefined) envelope.ask?.fail(error)
    return error
  }

  /** Queues a system message; served before the mailbox. */
  sendSystem(message: Tagged, sender: AnyPid | undefined, ask?: AskHandle): boolean {
    if (this.status >= STOPPING) return false
    const x = this.extras
    ;(x.system ??= []).push(new Envelope(message, sender, ask))
    this.wake()
    return true
  }

  private wake(): void {
    if ((this.flags & (SCHEDULED | SUSPENDED)) === 0 && this.status >= RUNNING && this.status < STOPPED) {
      this.flags |= SCHEDULED
      this.system.dispatcher.schedule(this)
    }
  }

  deadletter(message: unknown, sender: AnyPid | undefined, reason: string): void {
    this.system.deadletter(this, message, sender, reason)
  }

  askExpired(handle: AskHandle): void {
    this.deadletter(handle.message, handle.sender, `ask timed out after ${handle.timeoutMillis} ms`)
  }

  // --------------------------------------------------------------- draining

  run(worker: Worker): Effect.Effect<void> {
    this.runner = worker
    const x = this.extras
    x.budget = THROUGHPUT
    const loop = x.loop ??= Effect.whileLoop({
      while: () => this.next(),
      body: () => this.invoke(),
      step: (value) => this.step(value)
    })
    return Effect.flatMap(
      Effect.catchAllCause(loop, (cause) => this.withAnnotations(this.onFailure(cause))),
      () => this.afterRun(worker)
    )
  }

  private next(): boolean {
    const x = this.x!
    if ((this.flags & (KILLED | SUSPENDED)) !== 0 || x.budget-- <= 0) return false
    let envelope: Envelope | undefined
    if (x.system !== undefined && x.system.length > 0) envelope = x.system.shift()
    else if (x.unstashed !== undefined && x.unstashed.length > 0) envelope = x.unstashed.shift()
    else envelope = this.mailbox?.poll()
    if (envelope === undefined) return false
    this.current = envelope
    if (this.system.processingTime) x.startedAt = this.timers.nanos()
    return true
  }

  /**
   * Runs the current message's handler. Handlers whose Effect is a plain
   * success or sync thunk run right here, and the loop goes on with the next
   * message without a turn of the fiber's run loop; the first other Effect
   * goes back to the runtime (and `step` sees its value).
   */
  private invoke(): Effect.Effect<unknown, unknown> {
    try {
      for (;;) {
        const effect = this.dispatch()
        const value = runIfSync(effect)
        if (value === MISS) return this.annotated(effect)
        this.step(value)
        if (!this.next()) return drained
      }
    } catch (defect) {
      return Effect.die(defect)
    }
  }

  /** Logs from a handler carry the actor's address and the message's tag. */
  private annotated(effect: Effect.Effect<unknown, unknown>): Effect.Effect<unknown, unknown> {
    // Set only when the actor or the tag changes, so a run of one kind of
    // message pays nothing (see `Worker.annotatedFor`).
    const worker = this.runner
    const tag = this.current?.message._tag
    if (worker === undefined || (worker.annotatedFor === this && worker.lastTag === tag)) return effect
    worker.annotatedFor = this
    worker.lastTag = tag
    return Effect.zipRight(FiberRef.set(FiberRef.currentLogAnnotations, this.logAnnotations(tag)), effect)
  }

  /** Runs a lifecycle step (supervision, stop) with this actor's log annotations. */
  private withAnnotations<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.locally(effect, FiberRef.currentLogAnnotations, this.logAnnotations(undefined))
  }

  /** The log annotations for a message tag (cached per tag). */
  logAnnotations(tag: string | undefined): HashMap.HashMap<string, unknown> {
    const x = this.extras
    const cache = x.annotations ??= new Map()
    let annotations = cache.get(tag)
    if (annotations === undefined) {
      const base = HashMap.set(this.system.logAnnotations, "actor", this.addressString())
      annotations = tag === undefined ? base : HashMap.set(base, "message", tag)
      cache.set(tag, annotations)
    }
    return annotations
  }

  private dispatch(): Effect.Effect<unknown, unknown> {
    // `next` just set it.
    const envelope = this.current!
    const prebuilt = this.x!.prebuilt
    if (prebuilt !== undefined && prebuilt.envelope === envelope) {
      this.x!.prebuilt = undefined
      return prebuilt.effect
    }
    const message = envelope.message
    const handler = this.behavior[message._tag]
    if (handler !== undefined) return handler(message, this.ctx()) as Effect.Effect<unknown, unknown>
    return this.invokeSystem(envelope)
  }

  private invokeSystem(envelope: Envelope): Effect.Effect<unknown, unknown> {
    const message = envelope.message
    if (message instanceof PoisonPill) {
      this.requestStop(true, "PoisonPill")
      return Effect.void
    }
    if (message instanceof Escalation) return Effect.failCause(message.cause)
    if (message instanceof RestartRequest) return this.restartNow(undefined)
    if (message instanceof Terminated) return Effect.void
    const receiveAny = this.def.receiveAny
    if (receiveAny !== undefined) return receiveAny(message, this.ctx()) as Effect.Effect<unknown, unknown>
    this.flags |= HANDED_OFF
    this.unhandledCurrent(envelope, "unhandled message")
    return Effect.void
  }

  private step(value: unknown): void {
    if (value === DRAINED) return
    const envelope = this.current
    this.current = undefined
    this.processed++
    this.system.processed++
    if (this.system.processingTime) this.x!.lastNanos = this.timers.nanos() - this.x!.startedAt
    if ((this.flags & HANDED_OFF) !== 0) {
      this.flags &= ~HANDED_OFF
      return
    }
    if (envelope !== undefined && envelope.ask !== undefined) envelope.ask.succeed(value)
  }

  private unhandledCurrent(envelope: Envelope, reason: string): void {
    this.deadletter(envelope.message, envelope.sender, reason)
    envelope.ask?.fail(new AskFailed({ address: this.addressString(), messageTag: envelope.message._tag, reason }))
  }

  private isEmpty(): boolean {
    const x = this.x
    if (x !== undefined) {
      if (x.system !== undefined && x.system.length > 0) return false
      if (x.unstashed !== undefined && x.unstashed.length > 0) return false
    }
    return this.mailbox === undefined || this.mailbox.size === 0
  }

  private afterRun(worker: Worker): Effect.Effect<void> {
    if (this.status === STOPPING && ((this.flags & KILLED) !== 0 || this.isEmpty())) {
      return this.finalize()
    }
    if ((this.flags & SUSPENDED) !== 0 || this.status === STOPPED) {
      this.flags &= ~SCHEDULED
      this.runner = undefined
      return Effect.void
    }
    if (!this.isEmpty()) {
      if (this.system.dispatcher.ready.length === 0) return this.run(worker)
      this.runner = undefined
      this.system.dispatcher.ready.push(this)
      return Effect.void
    }
    this.flags &= ~SCHEDULED
    this.runner = undefined
    this.armPassivation()
    return Effect.void
  }

  // ------------------------------------------------------------ supervision

  private onFailure(cause: Cause.Cause<unknown>): Effect.Effect<void> {
    const envelope = this.current
    this.current = undefined
    const handedOff = (this.flags & HANDED_OFF) !== 0
    this.flags &= ~HANDED_OFF
    if (envelope !== undefined) {
      this.processed++
      const message = envelope.message
      if (envelope.ask !== undefined && !handedOff && isRequest(message)) {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure) && Schema.is(Schema.failureSchema(message))(failure.value)) {
          envelope.ask.fail(failure.value)
          return Effect.void
        }
      }
      if (!handedOff) {
        envelope.ask?.fail(
          new AskFailed({ address: this.addressString(), messageTag: message._tag, reason: squashMessage(cause) })
        )
      }
    }
    const escalated = envelope?.message instanceof Escalation ? envelope.message : undefined
    const error = Cause.squash(cause)
    const directive = this.options.supervisor.decide(error)
    return Effect.zipRight(
      Effect.logWarning(`actor failed, supervisor says ${directive}`, cause).pipe(
        Effect.annotateLogs({ actor: this.addressString(), message: envelope?.message._tag ?? "" })
      ),
      Effect.suspend(() => {
        switch (directive) {
          case "Resume": {
            if (escalated !== undefined) escalated.child.resumeAfterEscalation()
            return Effect.void
          }
          case "Restart":
            return this.restartNow(cause)
          case "Escalate": {
            if (this.parent !== undefined && this.parent.status === RUNNING) {
              this.flags |= SUSPENDED
              if (escalated !== undefined) this.extras.escalatedChild = escalated.child
              this.publish(new Events.ActorSuspended({ address: this.address, error: squashMessage(cause) }))
              this.parent.sendSystem(new Escalation(this, cause), this.pid)
              return Effect.void
            }
            this.requestStop(true, "Failed", squashMessage(cause))
            return Effect.void
          }
          case "Stop": {
            this.requestStop(true, "Failed", squashMessage(cause))
            return Effect.void
          }
        }
      })
    )
  }

  resumeAfterEscalation(): void {
    if ((this.flags & SUSPENDED) === 0) return
    this.flags &= ~SUSPENDED
    const x = this.extras
    const child = x.escalatedChild
    x.escalatedChild = undefined
    child?.resumeAfterEscalation()
    if (!this.isEmpty() && (this.flags & SCHEDULED) === 0 && this.status === RUNNING) {
      this.flags |= SCHEDULED
      this.system.dispatcher.schedule(this)
    } else if (this.status === RUNNING) {
      this.armPassivation()
    }
  }

  /**
   * Restarts in place: stop children, postStop, fresh state, preStart. With a
   * failure `cause`, the restart schedule gives the delay and the budget.
   */
  private restartNow(cause: Cause.Cause<unknown> | undefined): Effect.Effect<void> {
    const x = this.extras
    const strategy = this.options.supervisor
    const budget: Effect.Effect<boolean> = cause === undefined ? Effect.succeed(true) : Effect.gen(this, function*() {
      const now = this.timers.now()
      const driver = x.restartDriver ??= yield* Schedule.driver(strategy.restarts)
      if (x.lastFailureAt >= 0 && now - x.lastFailureAt >= Duration.toMillis(strategy.resetAfter)) {
        yield* driver.reset
      }
      x.lastFailureAt = now
      this.publish(new Events.ActorSuspended({ address: this.address, error: squashMessage(cause) }))
      return yield* driver.next(Cause.squash(cause)).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
    })
    return Effect.flatMap(budget, (allowed) => {
      if (!allowed) {
        this.requestStop(true, "RestartsExhausted", cause === undefined ? undefined : squashMessage(cause))
        return Effect.void
      }
      // Stopped while waiting for the restart delay: the stop wins.
      if (this.status !== RUNNING) return Effect.void
      return Effect.gen(this, function*() {
        yield* this.stopChildren("ParentStopped")
        yield* this.runPostStop()
        this.state = this.def.initialState()
        this.behavior = this.def.receive as unknown as AnyBehavior
        x.stack = undefined
        x.restarts++
        const started = yield* Effect.exit(this.runPreStart())
        if (Exit.isFailure(started)) {
          // A failing preStart goes back to the supervisor and counts against the budget.
          return yield* this.onFailure(started.cause)
        }
        this.publish(
          new Events.ActorRestarted({
            address: this.address,
            restarts: x.restarts,
            ...(cause === undefined ? {} : { error: squashMessage(cause) })
          })
        )
      })
    })
  }

  runPreStart(): Effect.Effect<void, unknown> {
    const preStart = this.def.preStart
    if (preStart === undefined) return Effect.void
    return Effect.locally(
      preStart(this.ctx() as never) as Effect.Effect<void, unknown>,
      currentRunnable,
      this
    )
  }

  private runPostStop(): Effect.Effect<void> {
    const postStop = this.def.postStop
    if (postStop === undefined) return Effect.void
    return (postStop(this.ctx() as never) as Effect.Effect<void, unknown>).pipe(
      // finalize may run in the stopper's fiber (kill, a timed-out stop): give postStop the actor's services and identity.
      Effect.provide(this.context),
      Effect.locally(currentRunnable, this as Runnable | undefined),
      // Interruptible so that the timeout also bounds a postStop run from a finalizer.
      Effect.interruptible,
      Effect.timeoutFail({
        duration: this.system.shutdownTimeout,
        onTimeout: () => new Error(`postStop did not finish within ${Duration.format(this.system.shutdownTimeout)}`)
      }),
      Effect.catchAllCause((cause) =>
        Effect.logWarning("postStop failed; the actor stops all the same", cause).pipe(
          Effect.annotateLogs({ actor: this.addressString() })
        )
      )
    )
  }

  // --------------------------------------------------------------- stopping

  /** Marks the cell as stopping; a worker (or the stopper) finalizes it. */
  requestStop(kill: boolean, reason: Events.StopReason, error?: string): void {
    if (this.status === STOPPED) return
    if (this.status === STARTING) {
      // Asked from preStart (`ctx.stop(ctx.self)`): the spawn stops the actor once preStart returns.
      this.requestStopWhileStarting(reason)
      return
    }
    const x = this.extras
    if (this.status < STOPPING) {
      this.status = STOPPING
      x.stopReason = reason
      x.stopError = error
    }
    if (kill) this.flags |= KILLED
    if ((this.flags & SUSPENDED) !== 0) {
      this.flags = (this.flags & ~SUSPENDED) | KILLED
    }
    this.timers.remove(this)
    if ((this.flags & (SCHEDULED | FINALIZING)) === 0 && this.status !== STARTING) {
      this.flags |= SCHEDULED
      this.system.dispatcher.schedule(this)
    }
  }

  /** Stops and waits, forcing the stop after the shutdown timeout. */
  stop(kill: boolean, reason: Events.StopReason): Effect.Effect<void> {
    return Effect.withFiberRuntime((fiber) => {
      if (this.status === STOPPED) return Effect.void
      const caller = fiber.getFiberRef(currentRunnable)
      if (caller === this || (caller instanceof Cell && caller.descendsFrom(this))) {
        // Stopping itself or an ancestor from a handler: waiting would wait for itself (children stop first).
        this.requestStop(kill, reason)
        return Effect.void
      }
      if (this.status === STARTING) {
        // preStart is running in the spawner's fiber; the spawn finalizes. That fiber is out of our reach, so a
        // preStart that never ends must not hold the stop (or the system's shutdown) beyond the shutdown timeout.
        this.requestStopWhileStarting(reason)
        return Effect.asVoid(Effect.timeoutOption(Effect.interruptible(this.awaitStopped()), this.system.shutdownTimeout))
      }
      if (this.stopNowIfIdle(reason)) return Effect.void
      this.requestStop(kill, reason)
      // A kill does not wait for the handler in flight: it interrupts it.
      if (kill) return this.forceStop()
      // Interruptible so that the timeout can end the wait even inside a finalizer (the scope's shutdown).
      return Effect.interruptible(this.awaitStopped()).pipe(
        Effect.timeoutOption(this.system.shutdownTimeout),
        Effect.flatMap((done) => Option.isSome(done) ? Effect.void : this.forceStop())
      )
    })
  }

  /**
   * Stops at once, in the caller, an actor with nothing to drain, no children,
   * no `postStop` and no handler running: no worker and no fiber are needed
   * (closing a system of a million idle actors must not fork a million
   * fibers). Returns false when the full path is needed.
   */
  stopNowIfIdle(reason: Events.StopReason): boolean {
    if (this.status !== RUNNING || (this.flags & (SCHEDULED | SUSPENDED | FINALIZING)) !== 0) return false
    if (this.def.postStop !== undefined || !this.isEmpty()) return false
    const x = this.x
    if (x !== undefined && ((x.children?.size ?? 0) > 0 || (x.pipes?.size ?? 0) > 0 || (x.stash?.length ?? 0) > 0)) {
      return false
    }
    this.status = STOPPING
    this.flags |= FINALIZING
    if (x !== undefined) x.stopReason = reason
    this.completeStop(reason)
    return true
  }

  private requestStopWhileStarting(reason: Events.StopReason): void {
    const x = this.extras
    x.stopReason = reason
    this.flags |= KILLED
  }

  /** The graceful stop timed out: interrupt the handler and finalize here. */
  private forceStop(): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (this.status === STOPPED) return Effect.void
      this.flags |= KILLED
      if ((this.flags & FINALIZING) !== 0) return this.awaitStopped()
      const worker = this.runner
      this.runner = undefined
      const interrupt = worker?.fiber === undefined
        ? Effect.void
        : Effect.zipRight(
          Effect.sync(() => this.system.dispatcher.lose(worker)),
          Fiber.interrupt(worker.fiber)
        )
      return Effect.zipRight(
        interrupt,
        Effect.suspend(() => {
          // The interrupted message was not processed: finalize drops it first, as a deadletter.
          const inFlight = this.current
          this.current = undefined
          if (inFlight !== undefined && (this.flags & HANDED_OFF) === 0) (this.extras.system ??= []).unshift(inFlight)
          this.flags &= ~HANDED_OFF
          return this.finalize()
        })
      )
    })
  }

  awaitStopped(): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.status === STOPPED) return resume(Effect.void)
      const x = this.extras
      const waiter = () => resume(Effect.void)
      ;(x.stopWaiters ??= []).push(waiter)
      return Effect.sync(() => {
        const waiters = x.stopWaiters
        if (waiters !== undefined) {
          const i = waiters.indexOf(waiter)
          if (i >= 0) waiters.splice(i, 1)
        }
      })
    })
  }

  stopChildren(reason: Events.StopReason): Effect.Effect<void> {
    const children = this.x?.children
    if (children === undefined || children.size === 0) return Effect.void
    return Effect.forEach([...children.values()], (child) => child.stop(false, reason), {
      concurrency: "unbounded",
      discard: true
    })
  }

  /** Runs once: children, leftovers, postStop, unregistering, Terminated, events. */
  finalize(): Effect.Effect<void> {
    if ((this.flags & FINALIZING) !== 0) return this.awaitStopped()
    this.flags |= FINALIZING
    this.status = STOPPING
    const x = this.extras
    return this.withAnnotations(Effect.gen(this, function*() {
      yield* this.stopChildren("ParentStopped")
      if (x.pipes !== undefined) {
        const pipes = [...x.pipes]
        x.pipes = undefined
        yield* Effect.forEach(pipes, Fiber.interrupt, { discard: true })
      }
      this.dropLeftovers()
      yield* this.runPostStop()
      this.completeStop()
    }))
  }

  private dropLeftovers(): void {
    const x = this.extras
    const reason = "actor stopped before processing it"
    const drop = (envelope: Envelope) => {
      if (envelope.message instanceof Escalation) {
        envelope.message.child.requestStop(true, "ParentStopped")
        return
      }
      if (envelope.message instanceof RestartRequest || envelope.message instanceof Terminated) {
        envelope.ask?.fail(new ActorStopped({ address: this.addressString(), messageTag: "Restart" }))
        return
      }
      this.deadletter(envelope.message, envelope.sender, reason)
      envelope.ask?.fail(new ActorStopped({ address: this.addressString(), messageTag: envelope.message._tag }))
    }
    if (x.system !== undefined) x.system.splice(0).forEach(drop)
    if (x.unstashed !== undefined) x.unstashed.splice(0).forEach(drop)
    if (this.mailbox !== undefined) {
      let envelope: Envelope | undefined
      while ((envelope = this.mailbox.poll()) !== undefined) drop(envelope)
    }
    if (x.stash !== undefined) x.stash.splice(0).forEach(drop)
  }

  private completeStop(reason?: Events.StopReason): void {
    this.status = STOPPED
    this.flags &= ~SCHEDULED
    this.runner = undefined
    this.timers.remove(this)
    this.system.unregister(this)
    const x = this.x
    const stopReason = x?.stopReason ?? reason ?? "Stopped"
    this.system.remote?.stopped(this, stopReason)
    if (this.system.bus.wants((this.flags & PASSIVATED) !== 0 ? "ActorPassivated" : "ActorStopped")) {
      const address = this.address
      this.publish(
        (this.flags & PASSIVATED) !== 0
          ? new Events.ActorPassivated({ address })
          : new Events.ActorStopped({
            address,
            reason: stopReason,
            ...(x?.stopError === undefined ? {} : { error: x.stopError })
          })
      )
    }
    if (x === undefined) return
    if (x.watchers !== undefined) {
      const terminated = new Terminated({ address: this.addressString(), reason: stopReason }, true)
      for (const watcher of x.watchers) {
        watcher.x?.watching?.delete(this)
        watcher.sendSystem(terminated, this.pid)
      }
      x.watchers = undefined
    }
    if (x.watching !== undefined) {
      for (const target of x.watching) target.x?.watchers?.delete(this)
      x.watching = undefined
    }
    const waiters = x.stopWaiters
    x.stopWaiters = undefined
    x.loop = undefined
    x.ctx = undefined
    if (waiters !== undefined) for (const waiter of waiters) waiter()
  }

  /** Passivation: the idle deadline passed. */
  onTimeout(): void {
    // Busy, or suspended waiting for its parent's decision: not idle.
    if (this.status !== RUNNING || (this.flags & (SCHEDULED | SUSPENDED)) !== 0) return
    this.flags |= PASSIVATED
    this.requestStop(false, "Stopped")
  }

  // -------------------------------------------------------------- relations

  addChild(child: Cell): void {
    const x = this.extras
    ;(x.children ??= new Map()).set(child.name, child)
  }

  watch(target: Cell): void {
    if (target === this) return
    if (target.status === STOPPED) {
      this.sendSystem(new Terminated({ address: target.addressString(), reason: "Stopped" }, true), target.pid)
      return
    }
    ;(target.extras.watchers ??= new Set()).add(this)
    ;(this.extras.watching ??= new Set()).add(target)
  }

  unwatch(target: Cell): void {
    target.x?.watchers?.delete(this)
    this.x?.watching?.delete(target)
  }

  publish(event: Events.Event): void {
    this.system.publish(event)
  }

  ctx(): ReceiveContextImpl {
    const x = this.extras
    return x.ctx ??= new ReceiveContextImpl(this)
  }

  // ------------------------------------------------- context operations

  stashCurrent(): Effect.Effect<void, StashFull> {
    return Effect.suspend(() => {
      const envelope = this.current
      if (envelope === undefined) return Effect.void
      const x = this.extras
      const stash = x.stash ??= []
      if (stash.length >= this.options.stashCapacity) {
        return Effect.fail(new StashFull({ address: this.addressString(), capacity: this.options.stashCapacity }))
      }
      stash.push(envelope)
      this.flags |= HANDED_OFF
      return Effect.void
    })
  }

  unstash(all: boolean): void {
    const x = this.extras
    const stash = x.stash
    if (stash === undefined || stash.length === 0) return
    const taken = all ? stash.splice(0) : stash.splice(0, 1)
    x.unstashed = x.unstashed === undefined ? taken : [...x.unstashed, ...taken]
  }

  get stashSize(): number {
    return this.x?.stash?.length ?? 0
  }

  get mailboxSize(): number {
    return this.mailbox?.size ?? 0
  }

  get restartCount(): number {
    return this.x?.restarts ?? 0
  }

  /** A snapshot of this actor's counters. */
  metrics(): ActorMetrics {
    const x = this.x
    const lastNanos = x?.lastNanos ?? -1
    return {
      address: this.addressString(),
      processed: this.processed,
      mailboxSize: this.mailboxSize,
      restarts: this.restartCount,
      children: x?.children?.size ?? 0,
      stashSize: this.stashSize,
      lastProcessingMillis: lastNanos < 0 ? Option.none() : Option.some(lastNanos / 1e6)
    }
  }

  trackPipe(fiber: Fiber.RuntimeFiber<unknown, unknown>): void {
    const x = this.extras
    ;(x.pipes ??= new Set()).add(fiber)
    fiber.addObserver(() => x.pipes?.delete(fiber))
  }

  handOff(): void {
    this.flags |= HANDED_OFF
  }
}

// ------------------------------------------------------------------- PIDs

/**
 * The actor the running fiber is draining, if any: the sender of what that
 * fiber sends. Reading the current fiber is cheaper than
 * `Effect.withFiberRuntime` on the tell path.
 */
export const currentCell = (): Cell | undefined => {
  const runnable = currentFiber()?.getFiberRef(currentRunnable)
  return runnable instanceof Cell ? runnable : undefined
}

const currentSender = (): AnyPid | undefined => currentCell()?.pid

/** The timeout of an ask in milliseconds (the system's default unless given), or why it is refused. */
const askTimeoutMillis = (cell: Cell, options: Pid.AskOptions | undefined): number | InvalidArgument => {
  const millis = options?.timeout === undefined
    ? cell.system.askTimeoutMillis
    : Duration.toMillis(Duration.decode(options.timeout))
  return millis > 0 ? millis : new InvalidArgument({ reason: `ask timeout must be positive, got ${millis} ms` })
}

/** A tell as one small object: cheaper than a suspend and its closure. */
class TellEffect extends Effectable.Class<void, ActorStopped | MailboxFull | UnknownMessage> {
  constructor(readonly cell: Cell, readonly message: Tagged) {
    super()
  }

  /**
   * How the fiber runtime runs this Effect, read by the runtime when it
   * evaluates it. When the send cannot fail (see `Cell.acceptsSurely`) it is a
   * plain sync step, one run-loop turn instead of two (a commit, then its
   * result), and the fast path of a handler that returns a tell runs it
   * inline; otherwise the commit below returns the typed failure. The check
   * and the send happen in the same synchronous step, so nothing can change
   * in between.
   */
  get _op(): "Sync" | "Commit" {
    return this.cell.acceptsSurely(this.message) ? "Sync" : "Commit"
  }

  effect_instruction_i0(): void {
    this.cell.send(this.message, currentSender(), undefined)
  }

  commit(): Effect.Effect<void, ActorStopped | MailboxFull | UnknownMessage> {
    const error = this.cell.send(this.message, currentSender(), undefined)
    return error === undefined ? Effect.void : Effect.fail(error)
  }
}

/** A PID of a local actor. */
export class LocalPid implements Pid.Pid<Tagged> {
  declare readonly [Pid.TypeId]: Pid.TypeId
  constructor(readonly cell: Cell) {}

  get address(): Address {
    return this.cell.address
  }

  get name(): string {
    return this.cell.name
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
    return this.cell.stop(false, "Stopped")
  }

  get kill(): Effect.Effect<void> {
    return this.cell.stop(true, "Killed")
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
    return Effect.sync(() => this.cell.isAlive)
  }

  get metrics(): Effect.Effect<ActorMetrics> {
    return Effect.sync(() => {
      const snapshot = this.cell.metrics()
      this.cell.system.exportMetrics()
      return snapshot
    })
  }

  watch(target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.sync(() => {
      if (target instanceof LocalPid) this.cell.watch(target.cell)
      else this.cell.system.remote?.watch(this.cell, target)
    })
  }

  unwatch(target: Pid.Pid<never>): Effect.Effect<void> {
    return Effect.sync(() => {
      if (target instanceof LocalPid) this.cell.unwatch(target.cell)
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

  toString(): string {
    return `Pid(${this.address.toString()})`
  }

  toJSON(): unknown {
    return { _id: "Pid", address: this.address.toString() }
  }
}

// The type id lives on the prototype: one property less per actor.
Object.defineProperty(LocalPid.prototype, Pid.TypeId, { value: Pid.TypeId })

// --------------------------------------------------------- receive context

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
        this.cell.requestStop(false, "Stopped")
        return Effect.void
      }
      return pid.cell.stop(false, "Stopped")
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
    return Effect.as(this.cell.stashCurrent(), handoff)
  }

  get unstash(): Effect.Effect<void> {
    return Effect.sync(() => this.cell.unstash(false))
  }

  get unstashAll(): Effect.Effect<void> {
    return Effect.sync(() => this.cell.unstash(true))
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
    return Effect.flatMap(Effect.forkDaemon(deliver), (fiber) => Effect.sync(() => cell.trackPipe(fiber)))
  }
}
