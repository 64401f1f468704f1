/**
 * Mailboxes: the queue an actor drains, one message at a time.
 *
 * The cell calls `offer` from any sender and `poll` from the single fiber that
 * is draining the actor, so an implementation needs no locking. Ship your own
 * by implementing {@link Mailbox} and passing `Mailbox.custom(() => ...)`.
 *
 * @since 0.1.0
 */
import type { Envelope } from "./internal/envelope.js"
import { Ring } from "./internal/ring.js"

export type { Envelope }

/**
 * A mailbox: a multi-producer, single-consumer queue of envelopes.
 *
 * @example
 * ```ts
 * import { Mailbox } from "effect-actors"
 * // A LIFO mailbox, to show the shape of a custom one.
 * class Stack implements Mailbox.Mailbox {
 *   private readonly items: Array<Mailbox.Envelope> = []
 *   readonly capacity = undefined
 *   get size() { return this.items.length }
 *   offer(envelope: Mailbox.Envelope) { this.items.push(envelope); return true }
 *   poll() { return this.items.pop() }
 * }
 * const lifo = Mailbox.custom(() => new Stack())
 * ```
 * @since 0.1.0
 * @category models
 */
export interface Mailbox {
  /** Adds an envelope; `false` when full (the message becomes a deadletter). */
  offer(envelope: Envelope): boolean
  /** Takes the next envelope, or `undefined` when empty. */
  poll(): Envelope | undefined
  /** How many envelopes wait. */
  readonly size: number
  /** The bound, or `undefined` when unbounded. */
  readonly capacity: number | undefined
}

/**
 * How to build a mailbox for each actor; given to `spawn` options or as the
 * system default.
 *
 * @since 0.1.0
 * @category models
 */
export interface MailboxFactory {
  readonly make: () => Mailbox
}

class UnboundedMailbox implements Mailbox {
  private readonly ring = new Ring<Envelope>()
  readonly capacity = undefined
  get size(): number {
    return this.ring.length
  }
  offer(envelope: Envelope): boolean {
    this.ring.push(envelope)
    return true
  }
  poll(): Envelope | undefined {
    return this.ring.shift()
  }
}

class BoundedMailbox implements Mailbox {
  private readonly ring = new Ring<Envelope>()
  constructor(readonly capacity: number) {}
  get size(): number {
    return this.ring.length
  }
  offer(envelope: Envelope): boolean {
    if (this.ring.length >= this.capacity) return false
    this.ring.push(envelope)
    return true
  }
  poll(): Envelope | undefined {
    return this.ring.shift()
  }
}

/** A binary min-heap on (priority order, arrival order): stable among equals. */
class PriorityMailbox implements Mailbox {
  private readonly heap: Array<{ readonly envelope: Envelope; readonly seq: number }> = []
  private seq = 0
  readonly capacity = undefined
  constructor(private readonly compare: (a: unknown, b: unknown) => number) {}
  get size(): number {
    return this.heap.length
  }
  offer(envelope: Envelope): boolean {
    const heap = this.heap
    heap.push({ envelope, seq: this.seq++ })
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(i, parent)) break
      this.swap(i, parent)
      i = parent
    }
    return true
  }
  poll(): Envelope | undefined {
    const heap = this.heap
    const top = heap[0]
    if (top === undefined) return undefined
    const last = heap.pop()!
    if (heap.length > 0) {
      heap[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < heap.length && this.before(l, m)) m = l
        if (r < heap.length && this.before(r, m)) m = r
        if (m === i) break
        this.swap(i, m)
        i = m
      }
    }
    return top.envelope
  }
  private before(i: number, j: number): boolean {
    // Both indices are in range: callers check against heap.length.
    const a = this.heap[i]!
    const b = this.heap[j]!
    const c = this.compare(a.envelope.message, b.envelope.message)
    return c < 0 || (c === 0 && a.seq < b.seq)
  }
  private swap(i: number, j: number): void {
    const heap = this.heap
    const t = heap[i]!
    heap[i] = heap[j]!
    heap[j] = t
  }
}

/**
 * The default: an unbounded FIFO queue (a growable ring buffer).
 *
 * @example
 * ```ts
 * import { Mailbox } from "effect-actors"
 * // system.spawn(Counter, "c", { mailbox: Mailbox.unbounded })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const unbounded: MailboxFactory = { make: () => new UnboundedMailbox() }

/**
 * A FIFO queue holding at most `capacity` messages. When full, a tell fails
 * with `MailboxFull` and becomes a deadletter; an ask fails at once.
 *
 * @example
 * ```ts
 * import { Mailbox } from "effect-actors"
 * // system.spawn(Worker, "w", { mailbox: Mailbox.bounded(1000) })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const bounded = (capacity: number): MailboxFactory => {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`Mailbox.bounded: capacity must be a positive integer, got ${capacity}`)
  }
  return { make: () => new BoundedMailbox(capacity) }
}

/**
 * An unbounded mailbox that hands out the message that sorts first by
 * `compare` (negative: `a` first); messages that compare equal keep their
 * arrival order.
 *
 * @example
 * ```ts
 * import { Mailbox } from "effect-actors"
 * const urgentFirst = Mailbox.priority((a, b) =>
 *   Number((b as { urgent?: boolean }).urgent ?? false) - Number((a as { urgent?: boolean }).urgent ?? false)
 * )
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const priority = (compare: (a: unknown, b: unknown) => number): MailboxFactory => ({
  make: () => new PriorityMailbox(compare)
})

/**
 * Wraps your own {@link Mailbox} implementation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const custom = (make: () => Mailbox): MailboxFactory => ({ make })
