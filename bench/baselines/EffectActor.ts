/**
 * Baseline 1: the obvious Effect actor.
 *
 * One resident fiber per actor drains a `Queue.unbounded`: it suspends on
 * `Queue.take`, then grabs whatever else is queued with `Queue.takeAll` and
 * runs the handler on each message in order. An ask carries a `Deferred` in
 * the message and the asker awaits it. This is what most people write first
 * with Effect, and what `effect-actors` must beat by a wide margin.
 *
 * It is deliberately given the cheap choices where there is one (the fiber is
 * forked with `forkDaemon`, not attached to a `Scope`), so ratios against it
 * are not flattered.
 */
import { Deferred, Effect, Fiber, Queue } from "effect"

/** A running baseline actor: its queue and its resident fiber. */
export interface EffectActor<M> {
  readonly queue: Queue.Queue<M>
  readonly fiber: Fiber.RuntimeFiber<never>
}

/** A message that expects a reply: the asker awaits `reply`. */
export interface Request<A> {
  readonly reply: Deferred.Deferred<A>
}

const drain = <M>(queue: Queue.Queue<M>, handle: (message: M) => Effect.Effect<void>): Effect.Effect<never> =>
  Effect.forever(
    Effect.flatMap(Queue.take(queue), (first) =>
      Effect.flatMap(Queue.takeAll(queue), (rest) =>
        Effect.zipRight(handle(first), Effect.forEach(rest, handle, { discard: true }))))
  )

/** Starts an actor: a queue and the fiber that drains it (running `onStop` when it ends). */
export const spawn = <M>(
  handle: (message: M) => Effect.Effect<void>,
  onStop?: Effect.Effect<void>
): Effect.Effect<EffectActor<M>> =>
  Effect.flatMap(Queue.unbounded<M>(), (queue) =>
    Effect.map(
      Effect.forkDaemon(onStop === undefined ? drain(queue, handle) : Effect.ensuring(drain(queue, handle), onStop)),
      (fiber) => ({ queue, fiber })
    ))

/** Sends a message without waiting. */
export const tell = <M>(actor: EffectActor<M>, message: M): Effect.Effect<boolean> => Queue.offer(actor.queue, message)

/** Sends the request built around a fresh `Deferred` and waits for the reply. */
export const ask = <M, A>(actor: EffectActor<M>, request: (reply: Deferred.Deferred<A>) => M): Effect.Effect<A> =>
  Effect.flatMap(Deferred.make<A>(), (reply) => Effect.zipRight(Queue.offer(actor.queue, request(reply)), Deferred.await(reply)))

/** Stops an actor: interrupts its fiber and shuts its queue down. */
export const stop = <M>(actor: EffectActor<M>): Effect.Effect<void> =>
  Effect.zipRight(Fiber.interrupt(actor.fiber), Queue.shutdown(actor.queue))
