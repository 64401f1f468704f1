/**
 * Shared protocols, actor definitions and event helpers for the tests of the
 * local runtime (issue 2).
 */
import { Context, Effect, Fiber, Queue, Schema } from "effect"
import { Actor, type EventStream, Pid } from "../src/index.js"

// ------------------------------------------------------------------ protocol

export class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}

export class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}

export class DivisionByZero extends Schema.TaggedError<DivisionByZero>()("DivisionByZero", {
  dividend: Schema.Number
}) {}

/** A request with a typed failure: the failure goes back to the asker. */
export class Divide extends Schema.TaggedRequest<Divide>()("Divide", {
  payload: { dividend: Schema.Number, divisor: Schema.Number },
  success: Schema.Number,
  failure: DivisionByZero
}) {}

/** A counter: tells add, asks read. */
export const Counter = Actor.make("Counter", {
  protocol: [Increment, GetCount, Divide],
  initialState: () => 0,
  receive: {
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get,
    Divide: (msg) =>
      msg.divisor === 0
        ? Effect.fail(new DivisionByZero({ dividend: msg.dividend }))
        : Effect.succeed(msg.dividend / msg.divisor)
  }
})

/** Records what tells it receives, in order. */
export class Note extends Schema.TaggedClass<Note>()("Note", { text: Schema.String }) {}

export class Notes extends Schema.TaggedRequest<Notes>()("Notes", {
  payload: {},
  success: Schema.Array(Schema.String),
  failure: Schema.Never
}) {}

// ------------------------------------------------------------------ services

/**
 * A log shared by actors and the test: lifecycle hooks and handlers append to
 * it, the test reads it. Provided at spawn, so it also proves that a
 * definition's services come from the spawner.
 */
export class Journal extends Context.Tag("test/Journal")<Journal, { readonly entries: Array<string> }>() {}

export const makeJournal = (): Context.Tag.Service<Journal> => ({ entries: [] })

export const write = (entry: string): Effect.Effect<void, never, Journal> =>
  Effect.map(Journal, (journal) => {
    journal.entries.push(entry)
  })

/** Writes `preStart <name>` and `postStop <name>` to the journal. */
export const Recorder = Actor.make("Recorder", {
  protocol: [Note, Notes],
  initialState: (): ReadonlyArray<string> => [],
  receive: {
    Note: (msg, ctx) => Effect.zipRight(write(`${ctx.self.name}: ${msg.text}`), ctx.update((s) => [...s, msg.text])),
    Notes: (_, ctx) => ctx.get
  },
  preStart: (ctx) => write(`preStart ${ctx.self.name}`),
  postStop: (ctx) => write(`postStop ${ctx.self.name}`)
})

// -------------------------------------------------------------------- events

type Tag = EventStream.Event["_tag"]
export type EventOf<T extends Tag> = Extract<EventStream.Event, { readonly _tag: T }>

/** Takes events until one with `tag` (and matching `pred`) arrives. */
export const nextEvent = <T extends Tag>(
  queue: Queue.Dequeue<EventStream.Event>,
  tag: T,
  pred: (event: EventOf<T>) => boolean = () => true
): Effect.Effect<EventOf<T>> =>
  Effect.flatMap(Queue.take(queue), (event) =>
    event._tag === tag && pred(event as EventOf<T>)
      ? Effect.succeed(event as EventOf<T>)
      : nextEvent(queue, tag, pred))

/** Takes every event up to and including the first one with `tag`. */
export const eventsUntil = <T extends Tag>(
  queue: Queue.Dequeue<EventStream.Event>,
  tag: T,
  pred: (event: EventOf<T>) => boolean = () => true
): Effect.Effect<Array<EventStream.Event>> =>
  Effect.gen(function*() {
    const out: Array<EventStream.Event> = []
    for (;;) {
      const event = yield* Queue.take(queue)
      out.push(event)
      if (event._tag === tag && pred(event as EventOf<T>)) return out
    }
  })

/** Every event published so far, without waiting. */
export const drainEvents = (queue: Queue.Dequeue<EventStream.Event>): Effect.Effect<Array<EventStream.Event>> =>
  Effect.map(Queue.takeAll(queue), (chunk) => [...chunk])

/** The events of one tag among `events`. */
export const ofTag = <T extends Tag>(events: ReadonlyArray<EventStream.Event>, tag: T): Array<EventOf<T>> =>
  events.filter((event): event is EventOf<T> => event._tag === tag)

/** Lets the dispatcher's microtasks and worker fibers run. */
export const settle: Effect.Effect<void> = Effect.repeatN(Effect.yieldNow(), 20)

/** A Schema for a PID field of a message (local messages only: never encoded). */
export const PidSchema = Schema.declare((u: unknown): u is Pid.Pid<never> => Pid.isPid(u), {
  identifier: "Pid"
})

/** Root fibers that appeared since `before` and are still running. */
export const newRootFibers = (before: ReadonlySet<Fiber.RuntimeFiber<unknown, unknown>>) =>
  Effect.map(Fiber.roots, (roots) => roots.filter((fiber) => !before.has(fiber) && fiber.unsafePoll() === null))
