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
import { Cause, Effect, Exit, FiberId, Queue, type Scope } from "effect"

interface Pending<I, O, E> {
  readonly input: I
  readonly done: (exit: Exit.Exit<O, E>) => void
}

/**
 * A batcher: call it for an Effect of one input's output, or `submit` an
 * input with a callback that receives the answer (no fiber, no Deferred:
 * what a caller racing the answer against something else needs).
 *
 * @internal
 */
export interface Batcher<I, O, E> {
  (input: I): Effect.Effect<O, E>
  readonly submit: (input: I, done: (exit: Exit.Exit<O, E>) => void) => void
}

/**
 * Starts a batcher in the scope: `run` receives up to `maxBatch` inputs and
 * answers one output per input, in order; at most `inFlight` runs at once.
 */
export const make = <I, O, E>(
  run: (inputs: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>,
  maxBatch: number,
  inFlight = 1
): Effect.Effect<Batcher<I, O, E>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<Pending<I, O, E>>(), Queue.shutdown)
    const slots = yield* Effect.makeSemaphore(inFlight)
    const flush = (batch: ReadonlyArray<Pending<I, O, E>>) =>
      Effect.matchCause(run(batch.map((pending) => pending.input)), {
        onFailure: (cause) => {
          for (const pending of batch) pending.done(Exit.failCause(cause))
        },
        onSuccess: (outputs) => {
          batch.forEach((pending, i) =>
            pending.done(
              i < outputs.length
                ? Exit.succeed(outputs[i] as O)
                : Exit.die(new Error("batcher: the batch answered fewer outputs than inputs"))
            )
          )
        }
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
    const submit = (input: I, done: (exit: Exit.Exit<O, E>) => void): void => {
      // A batcher whose scope closed answers as its queue would: interrupted.
      if (!queue.unsafeOffer({ input, done })) done(Exit.failCause(Cause.interrupt(FiberId.none)))
    }
    const call = (input: I): Effect.Effect<O, E> => Effect.async<O, E>((resume) => submit(input, resume))
    return Object.assign(call, { submit })
  })
