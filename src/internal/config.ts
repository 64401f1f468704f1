/**
 * Reading options from `Config`: the checks that `make` applies to options,
 * usable as config validations (so a bad value fails with a `ConfigError`
 * at its key), and optional keys that are left out of the result rather
 * than set to `undefined` (the options are read with
 * `exactOptionalPropertyTypes`, and `{ ...defaults, ...options }` must not
 * see an `undefined` override).
 *
 * @internal
 */
import { Config, ConfigError, Duration, Either, Option, Record } from "effect"

/** What is wrong with a value ("must be positive"), or undefined. */
export type Check<A> = (value: A) => string | undefined

export const positiveDuration: Check<Duration.DurationInput> = (duration) =>
  Duration.toMillis(Duration.decode(duration)) > 0 ? undefined : "must be positive"

export const positiveDurationOrNever: Check<Duration.DurationInput | "never"> = (duration) =>
  duration === "never" || positiveDuration(duration) === undefined ? undefined : "must be positive or \"never\""

export const nonNegativeInteger: Check<number> = (n) =>
  Number.isInteger(n) && n >= 0 ? undefined : "must be a non-negative integer"

export const positiveInteger: Check<number> = (n) => Number.isInteger(n) && n > 0 ? undefined : "must be a positive integer"

/** `"<field> <problem>"` when `check` finds the option's value wrong; an absent option is fine. */
export const invalid = <A>(field: string, value: A | undefined, check: Check<A>): string | undefined => {
  const problem = value === undefined ? undefined : check(value)
  return problem === undefined ? undefined : `${field} ${problem}`
}

/** `config`, failing at its key when `check` finds its value wrong. */
export const checked = <A>(config: Config.Config<A>, check: Check<A>): Config.Config<A> =>
  Config.mapOrFail(config, (value) => {
    const problem = check(value)
    return problem === undefined ? Either.right(value) : Either.left(ConfigError.InvalidData([], problem))
  })

/** A duration (`"5 seconds"`, `"200 millis"`), or the word `never`. */
export const durationOrNever = (name: string): Config.Config<Duration.Duration | "never"> =>
  Config.nested(
    Config.mapOrFail(Config.string(), (text): Either.Either<Duration.Duration | "never", ConfigError.ConfigError> =>
      text.trim() === "never" ? Either.right("never") : Either.fromOption(
        Duration.decodeUnknown(text.trim()),
        () => ConfigError.InvalidData([], `Expected a duration or "never" but received "${text}"`)
      )),
    name
  )

/**
 * Optional keys: each that is missing is left out of the result. A key that
 * is present but wrong still fails.
 */
export const optional = <Fields extends Record<string, Config.Config<unknown>>>(
  fields: Fields
): Config.Config<{ readonly [K in keyof Fields]?: Config.Config.Success<Fields[K]> }> =>
  Config.map(
    Config.all(Record.map(fields, (config) => Config.option(config))),
    (values) => Record.getSomes(values as Record<string, Option.Option<unknown>>) as never
  )
