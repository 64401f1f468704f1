/**
 * Decoding a discovery provider's configuration: the first problem becomes a
 * `DiscoveryConfigInvalid` naming the field (its dotted path).
 *
 * @internal
 */
import { Effect, ParseResult, Schema } from "effect"
import { DiscoveryConfigInvalid } from "../../ClusterError.js"

export const decodeConfig = <A, I>(
  provider: string,
  schema: Schema.Schema<A, I>,
  input: unknown
): Effect.Effect<A, DiscoveryConfigInvalid> =>
  Schema.decodeUnknown(schema, { onExcessProperty: "error" })(input).pipe(
    Effect.mapError((error) => {
      const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
      const field = issue === undefined || issue.path.length === 0 ? "(config)" : issue.path.map(String).join(".")
      return new DiscoveryConfigInvalid({ provider, field, reason: issue?.message ?? error.message })
    })
  )

/** A TCP/UDP port. */
export const Port = Schema.Int.pipe(Schema.between(1, 65535))

/** A positive number of milliseconds. */
export const Millis = Schema.Int.pipe(Schema.positive())

/** A positive count. */
export const Count = Schema.Int.pipe(Schema.positive())

/** The actor system's name, prefixed to discovered addresses (`system@host:port`, as remoting prints them). */
export const SystemName = Schema.NonEmptyTrimmedString.pipe(Schema.pattern(/^[^@/:\s]+$/))

/** A subject token or label of letters, digits, `-` and `_`. */
export const Token = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_-]+$/), Schema.maxLength(63))
