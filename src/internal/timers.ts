/**
 * Deadlines without a timer per entry: one list per distinct duration (so each
 * list stays sorted by deadline simply by appending), and a single sleeping
 * fiber that wakes at the earliest deadline. Adding and removing are O(1);
 * the clock is read once per add. A list that empties is dropped, so many
 * distinct durations (an ask timeout each) leave nothing behind. Time comes from Effect's `Clock`, so
 * `TestClock` drives every ask timeout and passivation.
 *
 * @internal
 */
import { type Clock, Duration, Effect, type Fiber, Runtime } from "effect"

/** @internal */
export abstract class TimerNode {
  timerPrev: TimerNode | undefined = undefined
  timerNext: TimerNode | undefined = undefined
  timerList: TimerList | undefined = undefined
  deadline = 0
  /** Called by the timer fiber when the deadline has passed (already unlinked). */
  abstract onTimeout(): void
}

/** @internal */
export class TimerList {
  head: TimerNode | undefined = undefined
  tail: TimerNode | undefined = undefined
  constructor(readonly millis: number) {}
}

/** @internal */
export class Timers {
  private readonly lists = new Map<number, TimerList>()
  private armedAt = Infinity
  private fiber: Fiber.RuntimeFiber<void> | undefined = undefined
  private closed = false
  /**
   * Deadlines count milliseconds from here, not from 1970: small integers fit
   * in a node's field as they are, where a timestamp would be a heap number
   * of its own (16 bytes for every idle actor waiting for passivation).
   */
  private readonly origin: number

  constructor(
    private readonly clock: Clock.Clock,
    private readonly runtime: Runtime.Runtime<never>
  ) {
    this.origin = clock.unsafeCurrentTimeMillis()
  }

  /** Milliseconds since `origin`: the scale of deadlines. */
  private elapsed(): number {
    return this.clock.unsafeCurrentTimeMillis() - this.origin
  }

  now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  nanos(): number {
    return Number(this.clock.unsafeCurrentTimeNanos())
  }

  /** Links `node` to expire `millis` from now (re-linking it if already linked). */
  add(node: TimerNode, millis: number): void {
    if (node.timerList !== undefined) this.remove(node)
    if (this.closed) return
    let list = this.lists.get(millis)
    if (list === undefined) {
      list = new TimerList(millis)
      this.lists.set(millis, list)
    }
    const deadline = this.elapsed() + millis
    // `| 0` makes a whole number a small integer, which V8 keeps in the field itself (a sum of
    // clock readings stays a boxed double); a deadline past 2^30 ms or with a fraction stays as it is.
    node.deadline = (deadline | 0) === deadline ? deadline | 0 : deadline
    node.timerList = list
    node.timerPrev = list.tail
    node.timerNext = undefined
    if (list.tail === undefined) list.head = node
    else list.tail.timerNext = node
    list.tail = node
    if (node.deadline < this.armedAt) this.arm(node.deadline)
  }

  remove(node: TimerNode): void {
    const list = node.timerList
    if (list === undefined) return
    if (node.timerPrev === undefined) list.head = node.timerNext
    else node.timerPrev.timerNext = node.timerNext
    if (node.timerNext === undefined) list.tail = node.timerPrev
    else node.timerNext.timerPrev = node.timerPrev
    node.timerPrev = node.timerNext = undefined
    node.timerList = undefined
    if (list.head === undefined) this.lists.delete(list.millis)
  }

  /** When `node` expires on the clock (epoch ms), or undefined when it is not linked. */
  deadlineOf(node: TimerNode): number | undefined {
    return node.timerList === undefined ? undefined : this.origin + node.deadline
  }

  /** How many deadline lists are kept (one per duration in use); for tests. */
  get listCount(): number {
    return this.lists.size
  }

  /** Stops the timer fiber; nodes still linked never fire. */
  close(): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.closed = true
      this.lists.clear()
      const fiber = this.fiber
      this.fiber = undefined
      return fiber === undefined ? Effect.void : Effect.asVoid(fiber.interruptAsFork(fiber.id()))
    })
  }

  private arm(deadline: number): void {
    this.armedAt = deadline
    const previous = this.fiber
    if (previous !== undefined) previous.unsafeInterruptAsFork(previous.id())
    // Forked from a microtask so that no expiry runs inside a sender's stack.
    queueMicrotask(() => {
      if (this.closed || this.armedAt !== deadline) return
      this.fiber = Runtime.runFork(this.runtime)(this.loop(deadline))
    })
  }

  private loop(deadline: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const wait = deadline - this.elapsed()
      if (wait > 0) {
        return Effect.flatMap(this.clock.sleep(Duration.millis(wait)), () => this.loop(deadline))
      }
      const next = this.expire()
      this.armedAt = next
      return next === Infinity ? Effect.void : this.loop(next)
    })
  }

  /** Fires every due node; returns the earliest remaining deadline. */
  private expire(): number {
    const now = this.elapsed()
    for (const list of this.lists.values()) {
      let node = list.head
      while (node !== undefined && node.deadline <= now) {
        this.remove(node)
        node.onTimeout()
        node = list.head
      }
    }
    // A timeout handler may have linked new nodes: look at every head again.
    let earliest = Infinity
    for (const list of this.lists.values()) {
      if (list.head !== undefined && list.head.deadline < earliest) earliest = list.head.deadline
    }
    return earliest
  }
}
