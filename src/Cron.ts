/**
 * Cron expressions in GoAkt's (Quartz-like) dialect: six fields with seconds
 * and an optional seventh field, the year.
 *
 * ```text
 * ┌───────────── second        0-59              * , - /
 * │ ┌─────────── minute        0-59              * , - /
 * │ │ ┌───────── hour          0-23              * , - /
 * │ │ │ ┌─────── day of month  1-31              * , - / ?
 * │ │ │ │ ┌───── month         1-12 or JAN-DEC   * , - /
 * │ │ │ │ │ ┌─── day of week   1-7 or SUN-SAT    * , - / ?   (1 = SUN … 7 = SAT)
 * │ │ │ │ │ │ ┌─ year          1970-2099         * , - /     (optional)
 * 0 0 9 ? * MON-FRI
 * ```
 *
 * Day-of-week numbers follow Quartz and GoAkt: 1 is Sunday and 7 is
 * Saturday (not the Unix 0 = Sunday). `a/n` means "from a, every n" (`0/15`
 * in the minutes: 0, 15, 30, 45). Day of month and day of week cannot both be
 * set: one of them is `?` (or `*`), as in Quartz. Names are case-insensitive.
 * Times are computed in a time zone (UTC unless told otherwise), so
 * `0 0 9 * * ?` in `Europe/Paris` fires at 9:00 Paris time all year.
 *
 * Daylight saving time: a time that falls in a DST gap runs at the first valid
 * time after the gap when the expression names a single second, minute and
 * hour (`0 30 2 * * ?`), and is skipped when it has a wildcard, range, list or
 * step there (`0 0/30 * * * ?`); a time that occurs twice runs once for the
 * former and on both occurrences for the latter (the behaviour of Vixie cron).
 *
 * Why a library: `effect/Cron` has no year field, rejects `?` and numbers
 * weekdays the Unix way. We build on `croner` (MIT, no dependencies, actively
 * maintained): it has seconds and a year field, `?`, Quartz weekday numbering
 * (`alternativeWeekdays`), IANA time zones through `Intl`, and a documented
 * DST behaviour. This module only narrows its grammar to GoAkt's (the years
 * 1970–2099, weekdays 1–7, `?` only in the day fields, no `L W # +` or
 * nicknames) and reports where an expression is wrong. Computing "the next
 * fire time after t" is croner's job; waiting for it is the `Scheduler`'s, on
 * Effect's `Clock`.
 *
 * @since 0.1.0
 */
import { Cron as Croner } from "croner"
import { Data, Either, Option } from "effect"

/**
 * The names of the seven fields, in order (index 0 is the seconds).
 *
 * @since 0.1.0
 * @category models
 */
export const fieldNames = ["second", "minute", "hour", "dayOfMonth", "month", "dayOfWeek", "year"] as const

/**
 * The name of a field.
 *
 * @since 0.1.0
 * @category models
 */
export type FieldName = typeof fieldNames[number]

/**
 * The expression is not valid: `reason` says why and `offset` where (the
 * character index in `expression`, from 0). When one field is at fault,
 * `field` is its index (0 = second … 6 = year) and `fieldName` its name.
 *
 * @example
 * ```ts
 * import { Cron } from "effect-actors"
 * const result = Cron.parse("0 0 9 ? * MON-FRY")
 * // Left(InvalidCronExpression { field: 5, fieldName: "dayOfWeek", offset: 10, ... })
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidCronExpression extends Data.TaggedError("InvalidCronExpression")<{
  readonly expression: string
  readonly reason: string
  readonly offset: number
  readonly field?: number
  readonly fieldName?: FieldName
}> {
  override get message(): string {
    const where = this.fieldName === undefined ? "" : ` in the ${this.fieldName} field`
    return `invalid cron expression "${this.expression}"${where} at offset ${this.offset}: ${this.reason}`
  }
}

/**
 * The time zone is not an IANA name this runtime knows (`Europe/Paris`,
 * `America/New_York`, `UTC`...).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTimeZone extends Data.TaggedError("InvalidTimeZone")<{
  readonly timeZone: string
}> {
  override get message(): string {
    return `unknown time zone "${this.timeZone}"`
  }
}

/**
 * Options of `parse`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The IANA time zone the fields are read in (default `"UTC"`). */
  readonly timeZone?: string
}

/**
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("effect-actors/Cron")

/**
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * A parsed, valid cron expression with its time zone.
 *
 * @since 0.1.0
 * @category models
 */
export interface Cron {
  readonly [TypeId]: TypeId
  /** The expression as given. */
  readonly expression: string
  /** The time zone its fields are read in. */
  readonly timeZone: string
}

class CronImpl implements Cron {
  readonly [TypeId]: TypeId = TypeId
  constructor(
    readonly expression: string,
    readonly timeZone: string,
    readonly croner: Croner
  ) {}

  yearOf(date: Date): number {
    return Number(new Intl.DateTimeFormat("en-US", { timeZone: this.timeZone, year: "numeric" }).format(date))
  }
}

const cronerOptions = (timeZone: string) =>
  ({
    mode: "6-or-7-parts",
    alternativeWeekdays: true,
    // Quartz writes "from a, every n" as `a/n` (`0/15`), which croner calls sloppy.
    sloppyRanges: true,
    // A fixed offset spares croner its `Intl` conversions: about 3 times faster for UTC.
    ...(timeZone === "UTC" ? { utcOffset: 0 } : { timezone: timeZone })
  }) as const

/** What each field accepts, for the whitelist and for the messages. */
const fieldRules: ReadonlyArray<{ readonly chars: RegExp; readonly allowed: string }> = [
  { chars: /[0-9*,\-/]/, allowed: "0-59 and * , - /" },
  { chars: /[0-9*,\-/]/, allowed: "0-59 and * , - /" },
  { chars: /[0-9*,\-/]/, allowed: "0-23 and * , - /" },
  { chars: /[0-9*,\-/?]/, allowed: "1-31 and * , - / ?" },
  { chars: /[0-9A-Za-z*,\-/]/, allowed: "1-12, JAN-DEC and * , - /" },
  { chars: /[0-9A-Za-z*,\-/?]/, allowed: "1-7 (1 = SUN), SUN-SAT and * , - / ?" },
  { chars: /[0-9*,\-/]/, allowed: "1970-2099 and * , - /" }
]

/** Numeric bounds we check ourselves: croner takes weekdays 0-7 and years 1-9999. */
const bounds: ReadonlyArray<readonly [field: number, min: number, max: number]> = [[5, 1, 7], [6, 1970, 2099]]

interface Token {
  readonly text: string
  readonly offset: number
}

const tokens = (text: string, pattern: RegExp, base: number): Array<Token> =>
  Array.from(text.matchAll(pattern), (match) => ({ text: match[0], offset: base + (match.index ?? 0) }))

/** The comma-separated elements of a field, empty ones included. */
const elements = (field: Token): Array<Token> => {
  const out: Array<Token> = []
  let offset = field.offset
  for (const text of field.text.split(",")) {
    out.push({ text, offset })
    offset += text.length + 1
  }
  return out
}

/** Whether one field (or one list element of it) compiles inside an otherwise all-wildcard pattern. */
const probe = (index: number, text: string): boolean => {
  const fields = ["*", "*", "*", "?", "*", "?", "*"]
  fields[index] = text
  try {
    new Croner(fields.join(" "), cronerOptions("UTC"))
    return true
  } catch {
    return false
  }
}

/** Time zones already found valid: building an `Intl.DateTimeFormat` costs tens of microseconds. */
const knownTimeZones = new Set(["UTC"])

const validTimeZone = (timeZone: string): boolean => {
  if (knownTimeZones.has(timeZone)) return true
  try {
    new Intl.DateTimeFormat("en-US", { timeZone })
    knownTimeZones.add(timeZone)
    return true
  } catch {
    return false
  }
}

/**
 * Parses and checks an expression; the error says where it is wrong.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Cron } from "effect-actors"
 * const weekdays = Cron.parse("0 0 9 ? * MON-FRI", { timeZone: "Europe/Paris" })
 * Either.isRight(weekdays) // true
 * const bad = Cron.parse("0 0 9 ? * 0")
 * // Left: "dayOfWeek value 0 is out of range 1-7", field 5, offset 10
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const parse = (
  expression: string,
  options?: Options
): Either.Either<Cron, InvalidCronExpression | InvalidTimeZone> => {
  const timeZone = options?.timeZone ?? "UTC"
  if (!validTimeZone(timeZone)) return Either.left(new InvalidTimeZone({ timeZone }))
  const fail = (reason: string, offset: number, field?: number) =>
    Either.left(
      new InvalidCronExpression({
        expression,
        reason,
        offset,
        ...(field === undefined ? {} : { field, fieldName: fieldNames[field] as FieldName })
      })
    )
  const fields = tokens(expression, /\S+/g, 0)
  if (fields.length < 6) {
    return fail(
      `expected 6 or 7 fields (second minute hour day-of-month month day-of-week [year]), found ${fields.length}`,
      expression.length,
      fields.length
    )
  }
  if (fields.length > 7) {
    return fail(`expected 6 or 7 fields, found ${fields.length}`, (fields[7] as Token).offset)
  }
  for (let index = 0; index < fields.length; index++) {
    const { offset, text } = fields[index] as Token
    const rule = fieldRules[index] as (typeof fieldRules)[number]
    for (let i = 0; i < text.length; i++) {
      const char = text[i] as string
      if (!rule.chars.test(char)) return fail(`"${char}" is not allowed here (allowed: ${rule.allowed})`, offset + i, index)
    }
    const question = text.indexOf("?")
    if (question >= 0 && text !== "?") return fail(`"?" stands alone in its field`, offset + question, index)
  }
  const dayOfMonth = (fields[3] as Token).text
  const dayOfWeek = fields[5] as Token
  if (dayOfMonth !== "*" && dayOfMonth !== "?" && dayOfWeek.text !== "*" && dayOfWeek.text !== "?") {
    return fail("day-of-month and day-of-week cannot both be set: put ? in one of them", dayOfWeek.offset, 5)
  }
  for (const [index, min, max] of bounds) {
    const field = fields[index]
    if (field === undefined) continue
    for (const element of elements(field)) {
      // The step after "/" is a count, not a value of the field.
      const slash = element.text.indexOf("/")
      const values = slash < 0 ? element.text : element.text.slice(0, slash)
      for (const number of tokens(values, /\d+/g, element.offset)) {
        const value = Number(number.text)
        if (value < min || value > max) {
          return fail(`${fieldNames[index]} value ${value} is out of range ${min}-${max}`, number.offset, index)
        }
      }
    }
  }
  // Quartz counts a year step `*/n` from 1970, the field's first value; croner from year 1.
  const normalized = fields.map((field, index) => index === 6 ? field.text.replace(/(^|,)\*\//g, "$11970/") : field.text)
    .join(" ")
  let croner: Croner
  try {
    croner = new Croner(normalized, cronerOptions(timeZone))
  } catch {
    // Find the faulty field, then the faulty list element within it.
    for (let index = 0; index < fields.length; index++) {
      const field = fields[index] as Token
      if (probe(index, field.text)) continue
      const rule = fieldRules[index] as (typeof fieldRules)[number]
      const culprit = elements(field).find((element) => element.text === "" || !probe(index, element.text)) ?? field
      const shown = culprit.text === "" ? "an empty list element" : `"${culprit.text}"`
      return fail(`${shown} is not valid here (allowed: ${rule.allowed})`, culprit.offset, index)
    }
    return fail("not a valid expression", 0)
  }
  return Either.right(new CronImpl(expression, timeZone, croner))
}

/**
 * The first fire time strictly after `after` (a `Date` or epoch
 * milliseconds), or `None` when the expression never fires again (its years
 * have passed, it names a day that does not exist such as 30 FEB, or the next
 * time would fall after 2099).
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Cron } from "effect-actors"
 * const cron = Either.getOrThrow(Cron.parse("0 0 0 29 FEB ?"))
 * Cron.next(cron, Date.UTC(2025, 0, 1)) // Some(2028-02-29T00:00:00.000Z)
 * ```
 * @since 0.1.0
 * @category getters
 */
export const next = (self: Cron, after: Date | number): Option.Option<Date> => {
  const impl = self as CronImpl
  const date = impl.croner.nextRun(new Date(after))
  // Like Quartz, fire times end with the year 2099 (read in the expression's time zone).
  return date === null || (date.getTime() >= lastDay && impl.yearOf(date) > 2099) ? Option.none() : Option.some(date)
}

const lastDay = Date.UTC(2099, 11, 30)
