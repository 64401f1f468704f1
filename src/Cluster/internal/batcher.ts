/**
 * Group commit for store calls made by many fibers at once: calls queue up
 * while the batches in flight run and go out together as the next one, so a
 * thousand concurrent spawns cost a few store round trips, not a thousand.
 * Up to `inFlight` batches run at once: with an asynchronous store
 * (PostgreSQL) one batch travels while this node works on the answers of the
 * one before.
 *
 * @internal
 */
import { Deferred, Effect, Queue, type Scope } from "effect"

interface Pending<I, O, E> {
  readonly input: I
  readonly deferred: Deferred.Deferred<O, E>
}

/**
 * Starts a batcher in the scope: `run` receives up to `maxBatch` inputs and
 * answers one output per input, in order; at most `inFlight` runs at once.
 * A failure of `run` fails every call of its batch.
 */
export const make = <I, O, E>(
  run: (inputs: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>,
  maxBatch: number,
  inFlight = 1
): Effect.Effect<(input: I) => Effect.Effect<O, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending<I, O, E>>(), Queue.shutdown)
    const slots = yield* Effect.makeSemaphore(inFlight)
    const flush = (batch: ReadonlyArray<Pending<I, O, E>>) =>
      Effect.matchCauseEffect(run(batch.map((pending) => pending.input)), {
        onFailure: (cause) => Effect.forEach(batch, (pending) => Deferred.failCause(pending.deferred, cause)),
        onSuccess: (outputs) =>
          Effect.forEach(batch, (pending, i) =>
            i < outputs.length
              ? Deferred.succeed(pending.deferred, outputs[i] as O)
              : Deferred.die(pending.deferred, new Error("batcher: the batch answered fewer outputs than inputs")))
      })
    // A slot is taken before the batch is: while every slot is busy, calls gather into the next batch.
    yield* Queue.take(queue).pipe(
      Effect.zipLeft(slots.take(1)),
      Effect.flatMap((first) =>
        Effect.flatMap(Queue.takeUpTo(queue, maxBatch - 1), (rest) =>
          Effect.forkScoped(Effect.ensuring(flush([first, ...rest]), slots.release(1))))
      ),
      Effect.forever,
      Effect.forkScoped
    )
    return (input: I) =>
      Effect.flatMap(Deferred.make<O, E>(), (deferred) =>
        Effect.zipRight(Queue.offer(queue, { input, deferred }), Deferred.await(deferred)))
  })
