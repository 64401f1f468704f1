/**
 * The actor cell: one actor's state, mailbox and run loop.
 *
 * A cell is a plain object. While idle it holds no fiber; the first message
 * into an idle cell puts it on the dispatcher's ready queue, and a worker
 * fiber drains it in batches (`run`). Per message the hot path is: poll the
 * mailbox, look the handler up by tag, run its Effect, and (for an ask) reply
 * with its success. Failures are caught once around the whole batch, not per
 * message, and handed to the supervisor.
 *
 * This file holds what runs per message (sending, the run loop, direct
 * dispatch of asks); the cold parts live beside it, as Akka splits its actor
 * cell: `cell/supervision.ts` (fault handling), `cell/stopping.ts` (stop,
 * finalize, passivation), `cell/deathWatch.ts`, `cell/receiveContext.ts`,
 * `cell/status.ts` (status, flags, system messages). A cell is its own PID:
 * it extends `LocalPid` (`localPid.ts`), which holds the `Pid` API.
 *
 * Optional parts (children, watchers, stash, behaviour stack, the receive
 * context) live in `Extras`, allocated on first use, so an idle actor costs a
 * few hundred bytes.
 *
 * @internal
 */
import { Effect, type Fiber, FiberRef, HashMap, Option, type Schedule } from "effect"
import { Address } from "../Address.js"
import { ActorStopped, AskFailed, MailboxFull, UnknownMessage } from "../Errors.js"
import type * as Events from "../EventStream.js"
import type { ActorMetrics } from "../Metrics.js"
import { type Mailbox, unbounded as unboundedMailbox } from "../Mailbox.js"
import { PoisonPill, type Tagged, Terminated } from "../Message.js"
import { ReceiveContextImpl } from "./cell/receiveContext.js"
import {
  type AnyBehavior,
  type AnyDefinition,
  type AnyPid,
  type CellOptions,
  CellTypeId,
  Escalation,
  FINALIZING,
  HANDED_OFF,
  KILLED,
  RestartRequest,
  RUNNING,
  SCHEDULED,
  STARTING,
  STOPPED,
  STOPPING,
  SUSPENDED
} from "./cell/status.js"
import { finalize, passivate, requestStop } from "./cell/stopping.js"
import { onFailure, restart } from "./cell/supervision.js"
import type { Runnable, Worker } from "./dispatcher.js"
import { AskHandle, type AskTarget, Envelope } from "./envelope.js"
import { MISS, runIfSync } from "./effectInternals.js"
import { LocalPid } from "./localPid.js"
import type { SystemImpl } from "./system.js"

/** Messages processed per activation before the cell yields its worker. */
const THROUGHPUT = 256

/** What `invoke` returns when it processed every message itself. */
const DRAINED: unique symbol = Symbol.for("effect-actors/drained")
const drained = Effect.succeed(DRAINED)

/** The parts of a cell that most actors never use, allocated on first use. */
export class Extras {
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
  stopReason: Events.StopReason | undefined = undefined
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
  /** The handlers `become` put in place (see `Cell.behavior`). */
  behavior: AnyBehavior | undefined = undefined
  /** The worker draining this actor now, if any. */
  runner: Worker | undefined = undefined
  /** Messages processed so far. */
  processed = 0
  /** Clock nanoseconds when the current message started (with `processingTime`). */
  startedAt = 0
  /** How long the last message took, in nanoseconds (with `processingTime`). */
  lastNanos = -1
}

/** @internal */
export class Cell extends LocalPid implements Runnable, AskTarget {
  status = STARTING
  flags = 0
  mailbox: Mailbox | undefined = undefined
  state: unknown = undefined
  current: Envelope | undefined = undefined
  x: Extras | undefined = undefined

  constructor(
    readonly system: SystemImpl,
    readonly def: AnyDefinition,
    readonly name: string,
    readonly parent: Cell | undefined,
    readonly context: import("effect").Context.Context<never>,
    readonly options: CellOptions
  ) {
    super()
  }

  /** This actor's PID: the cell itself (see `LocalPid`). */
  get pid(): LocalPid {
    return this
  }

  get timers(): SystemImpl["timers"] {
    return this.system.timers
  }

  get extras(): Extras {
    return this.x ??= new Extras()
  }

  // The worker, the count and a changed behaviour live in `Extras` (an actor that never ran has none of them):
  // three fields less per idle actor.

  /** The handlers in use: the definition's, unless `become` changed them. */
  get behavior(): AnyBehavior {
    return this.x?.behavior ?? (this.def.receive as unknown as AnyBehavior)
  }

  set behavior(behavior: AnyBehavior) {
    if (this.x !== undefined || behavior !== (this.def.receive as unknown)) this.extras.behavior = behavior
  }

  /** Messages processed so far. */
  get processed(): number {
    return this.x?.processed ?? 0
  }

  set processed(count: number) {
    this.extras.processed = count
  }

  /** The worker draining this actor now, if any. */
  get runner(): Worker | undefined {
    return this.x?.runner
  }

  set runner(worker: Worker | undefined) {
    if (worker !== undefined || this.x !== undefined) this.extras.runner = worker
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

  get alive(): boolean {
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
    this.scheduleIfIdle()
    return undefined
  }

  /**
   * Direct dispatch of an ask to an idle actor: the handler is called in the
   * asker's stack, and when its Effect is a plain success or sync thunk (see
   * `effectInternals.ts`) the reply is there at once, with no worker woken and no
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

  /**
   * `send` once `acceptsSurely` said yes, in the same synchronous turn: the
   * checks it made are not made again.
   */
  sendSurely(envelope: Envelope): void {
    ;(this.mailbox ??= this.options.mailbox.make()).offer(envelope)
    this.scheduleIfIdle()
  }

  /** Puts a running actor that is neither scheduled nor suspended on the ready queue. */
  private scheduleIfIdle(): void {
    if ((this.flags & (SCHEDULED | SUSPENDED)) === 0 && this.status === RUNNING) {
      this.flags |= SCHEDULED
      this.system.dispatcher.schedule(this)
    }
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
    const x = this.extras
    x.runner = worker
    x.budget = THROUGHPUT
    const loop = x.loop ??= Effect.whileLoop({
      while: () => this.next(),
      body: () => this.invoke(),
      step: (value) => this.step(value)
    })
    return Effect.flatMap(
      Effect.catchAllCause(loop, (cause) => this.withAnnotations(onFailure(this, cause))),
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
  withAnnotations<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
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
      requestStop(this, true, "PoisonPill")
      return Effect.void
    }
    if (message instanceof Escalation) return Effect.failCause(message.cause)
    if (message instanceof RestartRequest) return restart(this, undefined)
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
    // Only a running actor gets here (`run` or `askDirect` made its extras).
    this.x!.processed++
    this.system.processed++
    if (this.system.processingTime) {
      const nanos = this.timers.nanos() - this.x!.startedAt
      this.x!.lastNanos = nanos
      this.system.recordProcessing(nanos)
    }
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

  isEmpty(): boolean {
    const x = this.x
    if (x !== undefined) {
      if (x.system !== undefined && x.system.length > 0) return false
      if (x.unstashed !== undefined && x.unstashed.length > 0) return false
    }
    return this.mailbox === undefined || this.mailbox.size === 0
  }

  private afterRun(worker: Worker): Effect.Effect<void> {
    if (this.status === STOPPING && ((this.flags & KILLED) !== 0 || this.isEmpty())) {
      return finalize(this)
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

  // ------------------------------------------------------------- lifecycle

  /** Passivation: the idle deadline passed (see `cell/stopping.ts`). */
  onTimeout(): void {
    passivate(this)
  }

  // -------------------------------------------------------------- relations

  addChild(child: Cell): void {
    const x = this.extras
    ;(x.children ??= new Map()).set(child.name, child)
  }

  publish(event: Events.Event): void {
    this.system.publish(event)
  }

  ctx(): ReceiveContextImpl {
    const x = this.extras
    return x.ctx ??= new ReceiveContextImpl(this)
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
  snapshot(): ActorMetrics {
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

  handOff(): void {
    this.flags |= HANDED_OFF
  }
}

// Recognised by `isCell` (the parts never import this class at run time); on the prototype, so no field per actor.
Object.defineProperty(Cell.prototype, CellTypeId, { value: CellTypeId })
