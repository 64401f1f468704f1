/**
 * The spawn options that travel with a name: what a survivor needs to run
 * an adopted actor as its first owner did. Functions cannot travel, so each
 * option is data that names a choice every node can rebuild (a bounded
 * mailbox's capacity, a supervision directive, a passivation delay), encoded
 * with Schema into the directory row's `args`.
 *
 * @internal
 */
import { Duration, Either, Schema } from "effect"
import type * as Actor from "../../Actor.js"
import * as Mailbox from "../../Mailbox.js"
import * as Supervisor from "../../Supervisor.js"

/** The serialisable spawn options of a cluster actor. */
export const Travel = Schema.Struct({
  /** A bounded mailbox of this capacity (default: the system's mailbox). */
  mailboxCapacity: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Stop after this many idle milliseconds, or never (default: the definition's, else the system's). */
  passivateAfterMillis: Schema.optional(Schema.Union(Schema.Int.pipe(Schema.positive()), Schema.Literal("never"))),
  /** The supervision directive on failure (default: the definition's, else the system's). */
  supervision: Schema.optional(Schema.Literal("stop", "resume", "restart", "escalate")),
  /** How many messages the actor may stash (default: the definition's, else the system's). */
  stashCapacity: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
  /** Only nodes with this role may run it. */
  role: Schema.optional(Schema.String),
  /** Whether survivors adopt it when its node dies (default true). */
  relocate: Schema.optional(Schema.Boolean)
})

/** The serialisable spawn options of a cluster actor. */
export type Travel = typeof Travel.Type

const TravelJson = Schema.parseJson(Travel)
const encodeJson = Schema.encodeSync(TravelJson)
const decodeJson = Schema.decodeUnknownEither(TravelJson)
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** The bytes of the directory row's `args`. */
export const encode = (travel: Travel): Uint8Array => encoder.encode(encodeJson(travel))

/** Reads a row's `args` back; a row without (or with unreadable) args runs with the defaults. */
export const decode = (args: Uint8Array | undefined): Either.Either<Travel, string> => {
  if (args === undefined || args.length === 0) return Either.right({})
  return Either.mapLeft(decodeJson(decoder.decode(args)), (error) => error.message)
}

/** Validates options given by a caller (typed errors instead of a bad row). */
export const validate = Schema.decodeUnknownEither(Travel)

const strategies: Record<NonNullable<Travel["supervision"]>, Supervisor.Strategy> = {
  stop: Supervisor.stop,
  resume: Supervisor.resume,
  restart: Supervisor.restart(),
  escalate: Supervisor.escalate
}

/** The local spawn options the traveling ones stand for. */
export const toSpawnOptions = (travel: Travel): Actor.SpawnOptions => ({
  ...(travel.mailboxCapacity === undefined ? {} : { mailbox: Mailbox.bounded(travel.mailboxCapacity) }),
  ...(travel.supervision === undefined ? {} : { supervisor: strategies[travel.supervision] }),
  ...(travel.passivateAfterMillis === undefined ? {} : {
    passivateAfter: travel.passivateAfterMillis === "never"
      ? "never" as const
      : Duration.millis(travel.passivateAfterMillis)
  }),
  ...(travel.stashCapacity === undefined ? {} : { stashCapacity: travel.stashCapacity })
})
