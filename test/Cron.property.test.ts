/**
 * Property tests of the cron grammar: expressions are generated together with
 * the set of values each field stands for, and the next fire times from
 * `Cron.next` are checked against a brute-force reference that scans every
 * second of every matching day (in UTC) over a bounded window.
 */
import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option } from "effect"
import { Cron } from "../src/index.js"

interface Spec {
  readonly min: number
  readonly max: number
  readonly names?: ReadonlyArray<string>
}

const months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
const weekdays = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
const second: Spec = { min: 0, max: 59 }
const minute: Spec = { min: 0, max: 59 }
const hour: Spec = { min: 0, max: 23 }
const dayOfMonth: Spec = { min: 1, max: 31 }
const month: Spec = { min: 1, max: 12, names: months }
const dayOfWeek: Spec = { min: 1, max: 7, names: weekdays }
const year: Spec = { min: 1970, max: 2099 }

/** A field's text and the values it stands for (`undefined`: every value, a wildcard). */
interface Field {
  readonly text: string
  readonly values: ReadonlySet<number> | undefined
}

const stepped = (from: number, to: number, step: number): Array<number> => {
  const out: Array<number> = []
  for (let v = from; v <= to; v += step) out.push(v)
  return out
}

/** One list element; its values are drawn from [lo, hi] (a window of the field's range). */
const element = (spec: Spec, lo: number, hi: number): fc.Arbitrary<{ text: string; values: Array<number> }> => {
  const value = fc.integer({ min: lo, max: hi })
  const show = (v: number) =>
    spec.names === undefined
      ? fc.constant(String(v))
      : fc.constantFrom(String(v), spec.names[v - spec.min] as string, (spec.names[v - spec.min] as string).toLowerCase())
  const step = fc.integer({ min: 1, max: spec.max - spec.min + 1 })
  return fc.oneof(
    value.chain((v) => show(v).map((text) => ({ text, values: [v] }))),
    fc.tuple(value, value).chain(([a, b]) => {
      const [from, to] = a <= b ? [a, b] : [b, a]
      return fc.tuple(show(from), show(to)).map(([x, y]) => ({ text: `${x}-${y}`, values: stepped(from, to, 1) }))
    }),
    fc.tuple(value, step).map(([from, n]) => ({ text: `${from}/${n}`, values: stepped(from, spec.max, n) })),
    fc.tuple(value, value, step).map(([a, b, n]) => {
      const [from, to] = a <= b ? [a, b] : [b, a]
      return { text: `${from}-${to}/${n}`, values: stepped(from, to, n) }
    }),
    step.map((n) => ({ text: `*/${n}`, values: stepped(spec.min, spec.max, n) }))
  )
}

const field = (spec: Spec, lo = spec.min, hi = spec.max): fc.Arbitrary<Field> =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constant<Field>({ text: "*", values: undefined }) },
    {
      weight: 4,
      arbitrary: fc.array(element(spec, lo, hi), { minLength: 1, maxLength: 3 }).map((elements) => ({
        text: elements.map((e) => e.text).join(","),
        values: new Set(elements.flatMap((e) => e.values))
      }))
    }
  )

const wildcard = fc.constantFrom<Field>({ text: "*", values: undefined }, { text: "?", values: undefined })

interface Case {
  readonly expression: string
  readonly fields: ReadonlyArray<Field>
  /** Epoch millis to search from. */
  readonly from: number
}

/** An expression, and a start near the years it names so that the window often holds fire times. */
const cases: fc.Arbitrary<Case> = fc
  .tuple(fc.integer({ min: 2000, max: 2094 }), fc.integer({ min: 0, max: 365 * 86_400 - 1 }), fc.integer({ min: 0, max: 999 }))
  .chain(([startYear, offsetSeconds, millis]) => {
    const from = Date.UTC(startYear, 0, 1) + offsetSeconds * 1000 + millis
    const days = fc.oneof(
      fc.tuple(field(dayOfMonth), wildcard),
      fc.tuple(wildcard, field(dayOfWeek)),
      fc.tuple(wildcard, wildcard)
    )
    const years = fc.option(field(year, Math.max(year.min, startYear - 1), Math.min(year.max, startYear + 5)), {
      nil: undefined
    })
    return fc.tuple(field(second), field(minute), field(hour), days, field(month), years).map(
      ([s, m, h, [dom, dow], mo, y]) => {
        const fields = [s, m, h, dom, mo, dow, ...(y === undefined ? [] : [y])]
        return { expression: fields.map((f) => f.text).join(" "), fields, from }
      }
    )
  })

const WINDOW_DAYS = 4 * 366
const DAY = 86_400_000

const matches = (f: Field | undefined, value: number) => f === undefined || f.values === undefined || f.values.has(value)

/** The first second strictly after `after` that the fields match (UTC), or the end of the window when none. */
const reference = (fields: ReadonlyArray<Field>, after: number): { at: number } | { none: number } => {
  const [s, m, h, dom, mo, dow, y] = fields
  const start = Math.floor(after / 1000) * 1000 + 1000
  let dayStart = start - (start % DAY)
  for (let d = 0; d < WINDOW_DAYS; d++, dayStart += DAY) {
    const date = new Date(dayStart)
    if (
      !matches(y, date.getUTCFullYear()) || !matches(mo, date.getUTCMonth() + 1) ||
      !matches(dom, date.getUTCDate()) || !matches(dow, date.getUTCDay() + 1)
    ) continue
    for (let t = d === 0 ? (start - dayStart) / 1000 : 0; t < 86_400; t++) {
      if (matches(h, Math.floor(t / 3600)) && matches(m, Math.floor(t / 60) % 60) && matches(s, t % 60)) {
        return { at: dayStart + t * 1000 }
      }
    }
  }
  return { none: dayStart }
}

const parsed = (expression: string, timeZone?: string) => {
  const result = Cron.parse(expression, timeZone === undefined ? undefined : { timeZone })
  if (Either.isLeft(result)) throw new Error(`refused ${expression}: ${result.left.message}`)
  return result.right
}

const nextMillis = (cron: Cron.Cron, after: number) =>
  Option.getOrUndefined(Option.map(Cron.next(cron, after), (date) => date.getTime()))

describe("G1 cron: next fire times against a brute-force reference", () => {
  it.prop(
    "the next three fire times in UTC",
    [cases],
    ([c]) => {
      const cron = parsed(c.expression)
      let after = c.from
      for (let i = 0; i < 3; i++) {
        const expected = reference(c.fields, after)
        const actual = nextMillis(cron, after)
        if ("none" in expected) {
          // Nothing in the window: the library may only find a later time.
          if (actual !== undefined) expect(actual).toBeGreaterThanOrEqual(expected.none)
          return
        }
        expect(actual === undefined ? "none" : new Date(actual).toISOString()).toBe(new Date(expected.at).toISOString())
        after = expected.at
      }
    },
    { fastCheck: { numRuns: 300 } }
  )

  // Asia/Kolkata is UTC+5:30 all year (no DST): its fire times are the UTC ones shifted.
  it.prop(
    "a fixed-offset time zone shifts every fire time",
    [cases],
    ([c]) => {
      const offset = 330 * 60_000
      const cron = parsed(c.expression, "Asia/Kolkata")
      const expected = reference(c.fields, c.from + offset)
      const actual = nextMillis(cron, c.from)
      if ("none" in expected) {
        if (actual !== undefined) expect(actual + offset).toBeGreaterThanOrEqual(expected.none)
      } else {
        expect(actual).toBe(expected.at - offset)
      }
    },
    { fastCheck: { numRuns: 150 } }
  )
})

describe("G1 cron: faults and robustness", () => {
  const alphabet = fc.constantFrom(..."0123456789*,-/? ?  JANMONFRIDECLW#%x".split(""))

  it.prop(
    "parse never throws, and a fault lies within the expression",
    [fc.oneof(fc.string({ maxLength: 40 }), fc.array(alphabet, { maxLength: 30 }).map((cs) => cs.join("")))],
    ([text]) => {
      const result = Cron.parse(text)
      if (Either.isLeft(result) && result.left._tag === "InvalidCronExpression") {
        expect(result.left.offset).toBeGreaterThanOrEqual(0)
        expect(result.left.offset).toBeLessThanOrEqual(text.length)
      }
    },
    { fastCheck: { numRuns: 500 } }
  )

  it.prop(
    "a character no field allows is reported at its own offset and field",
    [cases, fc.nat(), fc.nat(), fc.constantFrom("%", "!", "@", "L", "#")],
    ([c, pick, at, bad]) => {
      const index = pick % c.fields.length
      const bounds = c.fields.map((f) => f.text)
      const fieldStart = bounds.slice(0, index).reduce((n, text) => n + text.length + 1, 0)
      const fieldText = bounds[index] as string
      // "L" and "#" are letters some fields take as names; keep them where no name is allowed.
      if ((bad === "L" || bad === "#") && (index === 4 || index === 5)) return
      const offset = fieldStart + (at % (fieldText.length + 1))
      const expression = c.expression.slice(0, offset) + bad + c.expression.slice(offset)
      const result = Cron.parse(expression)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "InvalidCronExpression", offset, field: index })
    },
    { fastCheck: { numRuns: 300 } }
  )
})
