/**
 * The system's publisher, and each subscriber's bounded buffer.
 *
 * Publishers ask `wants(tag)` before they build an event, so events nobody
 * listens to cost nothing, and an internal listener (the scheduler wants only
 * stops) does not make every other event paid for.
 *
 * A subscriber that falls behind never makes the publisher wait nor grows
 * without bound: its buffer holds `capacity` events; past that a `sliding`
 * buffer drops the oldest (the subscriber sees the latest) and a `dropping`
 * one drops the newest (it sees the earliest), and either counts what the
 * subscriber missed (`EventStream.missed`, and the system's
 * `effect_actors_events_missed` metric).
 *
 * @internal
 */
import { Chunk, Effect, Queue, type Scope } from "effect"
import type { BufferOptions, Event } from "../EventStream.js"

/** A subscriber's buffer when the system's options say nothing. */
export const defaultBuffer: Required<BufferOptions> = { capacity: 4_096, strategy: "sliding" }

/**
 * A ring buffer under an Effect `Queue`: offering to a full one drops an
 * event by its strategy and counts it, so the publisher's offer always
 * returns at once.
 */
class Buffer implements Queue.BackingQueue<Event> {
  readonly [Queue.BackingQueueTypeId] = { _A: (_: Event): Event => _ }
  private readonly items: Array<Event | undefined>
  private head = 0
  private size = 0
  /** Events dropped because the buffer was full. */
  missed = 0

  constructor(private readonly limit: number, private readonly sliding: boolean) {
    this.items = new Array(limit)
  }

  capacity(): number {
    return this.limit
  }

  length(): number {
    return this.size
  }

  offer(event: Event): boolean {
    if (this.size === this.limit) {
      this.missed++
      if (!this.sliding) return false
      this.poll(undefined)
    }
    this.items[(this.head + this.size++) % this.limit] = event
    return true
  }

  offerAll(events: Iterable<Event>): Chunk.Chunk<Event> {
    const refused: Array<Event> = []
    for (const event of events) if (!this.offer(event)) refused.push(event)
    return Chunk.unsafeFromArray(refused)
  }

  poll<Def>(def: Def): Event | Def {
    if (this.size === 0) return def
    const event = this.items[this.head] as Event
    this.items[this.head] = undefined
    this.head = (this.head + 1) % this.limit
    this.size--
    return event
  }

  pollUpTo(limit: number): Chunk.Chunk<Event> {
    const out: Array<Event> = []
    while (out.length < limit && this.size > 0) out.push(this.poll(undefined) as Event)
    return Chunk.unsafeFromArray(out)
  }
}

interface Subscriber {
  readonly queue: Queue.Queue<Event>
  readonly buffer: Buffer
  /** The tags it wants, or every tag. */
  readonly tags: ReadonlySet<Event["_tag"]> | undefined
}

/** The buffer behind each subscriber's queue (for `EventStream.missed`). */
const buffers = new WeakMap<Queue.Dequeue<Event>, Buffer>()

/** How many events the subscriber of `queue` missed, or undefined for a queue that is no subscription. */
export const missedBy = (queue: Queue.Dequeue<Event>): number | undefined => buffers.get(queue)?.missed

/** @internal */
export class EventBus {
  private subscribers: Array<Subscriber> = []
  private wanted: ReadonlySet<string> | "all" = new Set()
  /** Events missed by subscribers that have gone. */
  private missedByGone = 0

  constructor(private readonly options: Required<BufferOptions> = defaultBuffer) {}

  wants(tag: Event["_tag"]): boolean {
    return this.wanted === "all" || this.wanted.has(tag)
  }

  publish(event: Event): void {
    for (const subscriber of this.subscribers) {
      if (subscriber.tags === undefined || subscriber.tags.has(event._tag)) subscriber.queue.unsafeOffer(event)
    }
  }

  /** Events every subscriber, past and present, has missed. */
  get missed(): number {
    let missed = this.missedByGone
    for (const subscriber of this.subscribers) missed += subscriber.buffer.missed
    return missed
  }

  /** Subscribes to every event, or to the given tags only; the queue closes with the scope. */
  subscribe(tags?: ReadonlyArray<Event["_tag"]>): Effect.Effect<Queue.Dequeue<Event>, never, Scope.Scope> {
    return Effect.acquireRelease(
      Effect.suspend(() => {
        const buffer = new Buffer(this.options.capacity, this.options.strategy === "sliding")
        return Effect.tap(Queue.make(buffer, Queue.droppingStrategy<Event>()), (queue) =>
          Effect.sync(() => {
            buffers.set(queue, buffer)
            this.subscribers = [...this.subscribers, { queue, buffer, tags: tags === undefined ? undefined : new Set(tags) }]
            this.recompute()
          }))
      }),
      (queue) =>
        Effect.zipRight(
          Effect.sync(() => {
            const gone = this.subscribers.find((s) => s.queue === queue)
            if (gone !== undefined) this.missedByGone += gone.buffer.missed
            this.subscribers = this.subscribers.filter((s) => s.queue !== queue)
            this.recompute()
          }),
          Queue.shutdown(queue)
        )
    )
  }

  private recompute(): void {
    if (this.subscribers.some((s) => s.tags === undefined)) {
      this.wanted = "all"
      return
    }
    const wanted = new Set<string>()
    for (const subscriber of this.subscribers) for (const tag of subscriber.tags ?? []) wanted.add(tag)
    this.wanted = wanted
  }
}
