import { describe, expect, it } from "@effect/vitest"
import { Either, Option } from "effect"
import { Cron } from "../src/index.js"

const parse = (expression: string, timeZone?: string) => {
  const result = Cron.parse(expression, timeZone === undefined ? undefined : { timeZone })
  if (Either.isLeft(result)) throw new Error(`expected a valid expression: ${result.left.message}`)
  return result.right
}

/** The next `n` fire times after `from`, as ISO strings. */
const fires = (expression: string, from: string, n: number, timeZone?: string): Array<string> => {
  const cron = parse(expression, timeZone)
  const out: Array<string> = []
  let after = Date.parse(from)
  for (let i = 0; i < n; i++) {
    const next = Cron.next(cron, after)
    if (Option.isNone(next)) break
    out.push(next.value.toISOString())
    after = next.value.getTime()
  }
  return out
}

/** The error of an invalid expression. */
const fault = (expression: string) => {
  const result = Cron.parse(expression)
  if (Either.isRight(result)) throw new Error(`expected "${expression}" to be refused`)
  const error = result.left
  if (error._tag !== "InvalidCronExpression") throw new Error(`unexpected ${error._tag}`)
  return error
}

describe("G1 cron: GoAkt's table, field by field", () => {
  // Field | Required | Allowed values | Allowed special characters
  it("seconds: yes, 0-59, , - * /", () => {
    expect(fires("0 * * * * ?", "2024-01-01T00:00:00Z", 2)).toEqual(["2024-01-01T00:01:00.000Z", "2024-01-01T00:02:00.000Z"])
    expect(fires("59 * * * * ?", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-01T00:00:59.000Z"])
    expect(fires("10,20-21,*/25 * * * * ?", "2024-01-01T00:00:00Z", 5)).toEqual([
      "2024-01-01T00:00:10.000Z",
      "2024-01-01T00:00:20.000Z",
      "2024-01-01T00:00:21.000Z",
      "2024-01-01T00:00:25.000Z",
      "2024-01-01T00:00:50.000Z"
    ])
    expect(fault("60 * * * * ?")).toMatchObject({ field: 0, fieldName: "second", offset: 0 })
    expect(fault("? * * * * ?")).toMatchObject({ field: 0, offset: 0 })
  })

  it("minutes: yes, 0-59, , - * /", () => {
    expect(fires("0 0/15 * * * ?", "2024-01-01T00:00:00Z", 3)).toEqual([
      "2024-01-01T00:15:00.000Z",
      "2024-01-01T00:30:00.000Z",
      "2024-01-01T00:45:00.000Z"
    ])
    expect(fires("0 59 * * * ?", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-01T00:59:00.000Z"])
    expect(fault("0 60 * * * ?")).toMatchObject({ field: 1, fieldName: "minute", offset: 2 })
  })

  it("hours: yes, 0-23, , - * /", () => {
    expect(fires("0 0 9-17/4 * * ?", "2024-01-01T00:00:00Z", 4)).toEqual([
      "2024-01-01T09:00:00.000Z",
      "2024-01-01T13:00:00.000Z",
      "2024-01-01T17:00:00.000Z",
      "2024-01-02T09:00:00.000Z"
    ])
    expect(fires("0 0 23 * * ?", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-01T23:00:00.000Z"])
    expect(fault("0 0 24 * * ?")).toMatchObject({ field: 2, fieldName: "hour", offset: 4 })
  })

  it("day of month: yes, 1-31, , - * ? /", () => {
    expect(fires("0 0 0 1,15 * ?", "2024-01-01T00:00:00Z", 3)).toEqual([
      "2024-01-15T00:00:00.000Z",
      "2024-02-01T00:00:00.000Z",
      "2024-02-15T00:00:00.000Z"
    ])
    expect(fires("0 0 0 1/10 * ?", "2024-01-05T00:00:00Z", 3)).toEqual([
      "2024-01-11T00:00:00.000Z",
      "2024-01-21T00:00:00.000Z",
      "2024-01-31T00:00:00.000Z"
    ])
    expect(fault("0 0 0 0 * ?")).toMatchObject({ field: 3, fieldName: "dayOfMonth", offset: 6 })
    expect(fault("0 0 0 32 * ?")).toMatchObject({ field: 3, offset: 6 })
  })

  it("month: yes, 1-12 or JAN-DEC, , - * /", () => {
    expect(fires("0 0 0 1 JAN,jul ?", "2024-01-01T00:00:00Z", 2)).toEqual([
      "2024-07-01T00:00:00.000Z",
      "2025-01-01T00:00:00.000Z"
    ])
    expect(fires("0 0 0 1 11-12 ?", "2024-01-01T00:00:00Z", 2)).toEqual([
      "2024-11-01T00:00:00.000Z",
      "2024-12-01T00:00:00.000Z"
    ])
    expect(fires("0 0 0 1 */4 ?", "2024-01-01T00:00:00Z", 3)).toEqual([
      "2024-05-01T00:00:00.000Z",
      "2024-09-01T00:00:00.000Z",
      "2025-01-01T00:00:00.000Z"
    ])
    expect(fault("0 0 0 1 13 ?")).toMatchObject({ field: 4, fieldName: "month", offset: 8 })
    expect(fault("0 0 0 1 JAN-FOO ?")).toMatchObject({ field: 4, offset: 8 })
    expect(fault("0 0 0 1 ? ?")).toMatchObject({ field: 4, offset: 8 })
  })

  it("day of week: yes, 1-7 or SUN-SAT (1 = SUN), , - * ? /", () => {
    // 2024-01-01 is a Monday.
    expect(fires("0 0 0 ? * 1", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-07T00:00:00.000Z"])
    expect(fires("0 0 0 ? * SUN", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-07T00:00:00.000Z"])
    expect(fires("0 0 0 ? * 7", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-06T00:00:00.000Z"])
    expect(fires("0 0 0 ? * sat", "2024-01-01T00:00:00Z", 1)).toEqual(["2024-01-06T00:00:00.000Z"])
    expect(fires("0 0 12 ? * MON-FRI", "2024-01-05T13:00:00Z", 2)).toEqual([
      "2024-01-08T12:00:00.000Z",
      "2024-01-09T12:00:00.000Z"
    ])
    expect(fires("0 0 0 ? * 2/2", "2024-01-01T00:00:00Z", 3)).toEqual([
      "2024-01-03T00:00:00.000Z",
      "2024-01-05T00:00:00.000Z",
      "2024-01-08T00:00:00.000Z"
    ])
    expect(fault("0 0 0 ? * 0")).toMatchObject({ field: 5, fieldName: "dayOfWeek", offset: 10 })
    expect(fault("0 0 0 ? * 1-8")).toMatchObject({ field: 5, offset: 12 })
    expect(fault("0 0 0 ? * MON-FRY")).toMatchObject({ field: 5, offset: 10 })
  })

  it("year: no, empty or 1970-2099, , - * /", () => {
    expect(fires("0 0 0 1 1 ? 2030", "2024-01-01T00:00:00Z", 2)).toEqual(["2030-01-01T00:00:00.000Z"])
    expect(fires("0 0 0 1 1 ? 2025-2026,2099", "2024-06-01T00:00:00Z", 4)).toEqual([
      "2025-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
      "2099-01-01T00:00:00.000Z"
    ])
    // As in Quartz, `*/n` counts from the field's first value, 1970.
    expect(fires("0 0 0 1 1 ? */20", "2000-06-01T00:00:00Z", 3)).toEqual([
      "2010-01-01T00:00:00.000Z",
      "2030-01-01T00:00:00.000Z",
      "2050-01-01T00:00:00.000Z"
    ])
    expect(fires("0 0 0 1 1 ? *", "2098-06-01T00:00:00Z", 3)).toEqual(["2099-01-01T00:00:00.000Z"])
    expect(fault("0 0 0 1 1 ? 1969")).toMatchObject({ field: 6, fieldName: "year", offset: 12 })
    expect(fault("0 0 0 1 1 ? 2024,2100")).toMatchObject({ field: 6, offset: 17 })
  })
})

describe("G1 cron: the Quartz tutorial's examples", () => {
  const cases: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
    ["0 0 12 * * ?", "every day at noon", ["2024-03-01T12:00:00.000Z", "2024-03-02T12:00:00.000Z"]],
    ["0 15 10 ? * *", "every day at 10:15", ["2024-03-01T10:15:00.000Z", "2024-03-02T10:15:00.000Z"]],
    ["0 15 10 * * ? 2025", "every day at 10:15 in 2025", ["2025-01-01T10:15:00.000Z", "2025-01-02T10:15:00.000Z"]],
    ["0 * 14 * * ?", "every minute from 14:00 to 14:59", ["2024-03-01T14:00:00.000Z", "2024-03-01T14:01:00.000Z"]],
    ["0 0/5 14,18 * * ?", "every 5 minutes, 14:00-14:55 and 18:00-18:55", [
      "2024-03-01T14:00:00.000Z",
      "2024-03-01T14:05:00.000Z"
    ]],
    ["0 0-5 14 * * ?", "every minute 14:00-14:05", ["2024-03-01T14:00:00.000Z", "2024-03-01T14:01:00.000Z"]],
    ["0 10,44 14 ? 3 WED", "14:10 and 14:44 every Wednesday in March", [
      "2024-03-06T14:10:00.000Z",
      "2024-03-06T14:44:00.000Z"
    ]],
    ["0 15 10 ? * MON-FRI", "10:15 on weekdays", ["2024-03-01T10:15:00.000Z", "2024-03-04T10:15:00.000Z"]],
    ["0 15 10 15 * ?", "10:15 on the 15th", ["2024-03-15T10:15:00.000Z", "2024-04-15T10:15:00.000Z"]]
  ]
  for (const [expression, what, expected] of cases) {
    it(`${expression}: ${what}`, () => {
      expect(fires(expression, "2024-03-01T00:00:00Z", 2)).toEqual(expected)
    })
  }
})

describe("G1 cron: calendars and time zones", () => {
  it("month ends: the 31st skips the short months", () => {
    expect(fires("0 0 0 31 * ?", "2024-01-15T00:00:00Z", 4)).toEqual([
      "2024-01-31T00:00:00.000Z",
      "2024-03-31T00:00:00.000Z",
      "2024-05-31T00:00:00.000Z",
      "2024-07-31T00:00:00.000Z"
    ])
  })

  it("leap years: 29 FEB fires every four years, 2100 excepted by the year bound", () => {
    expect(fires("0 0 12 29 FEB ?", "2023-01-01T00:00:00Z", 3)).toEqual([
      "2024-02-29T12:00:00.000Z",
      "2028-02-29T12:00:00.000Z",
      "2032-02-29T12:00:00.000Z"
    ])
    expect(fires("0 0 12 29 2 ? 2025-2027", "2023-01-01T00:00:00Z", 1)).toEqual([])
    expect(fires("0 0 0 30 FEB ?", "2023-01-01T00:00:00Z", 1)).toEqual([])
  })

  it("Europe/Paris: 9:00 local all year, across both DST changes", () => {
    expect(fires("0 0 9 * * ?", "2024-03-30T00:00:00Z", 3, "Europe/Paris")).toEqual([
      "2024-03-30T08:00:00.000Z",
      "2024-03-31T07:00:00.000Z",
      "2024-04-01T07:00:00.000Z"
    ])
    expect(fires("0 0 9 * * ?", "2024-10-26T00:00:00Z", 3, "Europe/Paris")).toEqual([
      "2024-10-26T07:00:00.000Z",
      "2024-10-27T08:00:00.000Z",
      "2024-10-28T08:00:00.000Z"
    ])
  })

  it("Europe/Paris spring forward: 2:30 does not exist; a fixed time runs after the gap, an interval skips it", () => {
    expect(fires("0 30 2 * * ?", "2024-03-30T12:00:00Z", 2, "Europe/Paris")).toEqual([
      "2024-03-31T01:00:00.000Z", // 03:00 CEST, the first valid time after the gap
      "2024-04-01T00:30:00.000Z"
    ])
    expect(fires("0 0/30 * * * ?", "2024-03-31T00:00:00Z", 3, "Europe/Paris")).toEqual([
      "2024-03-31T00:30:00.000Z", // 01:30 CET
      "2024-03-31T01:00:00.000Z", // 03:00 CEST: 02:00 and 02:30 do not exist
      "2024-03-31T01:30:00.000Z"
    ])
  })

  it("America/New_York fall back: 1:30 occurs twice; a fixed time runs once, an interval twice", () => {
    expect(fires("0 30 1 * * ?", "2024-11-02T12:00:00Z", 3, "America/New_York")).toEqual([
      "2024-11-03T05:30:00.000Z", // 01:30 EDT, the first occurrence only
      "2024-11-04T06:30:00.000Z",
      "2024-11-05T06:30:00.000Z"
    ])
    expect(fires("0 30 * * * ?", "2024-11-03T04:00:00Z", 3, "America/New_York")).toEqual([
      "2024-11-03T04:30:00.000Z", // 00:30 EDT
      "2024-11-03T05:30:00.000Z", // 01:30 EDT
      "2024-11-03T06:30:00.000Z" // 01:30 EST
    ])
  })

  it("UTC by default, and an unknown time zone is a typed error", () => {
    expect(parse("0 0 9 * * ?").timeZone).toBe("UTC")
    const result = Cron.parse("0 0 9 * * ?", { timeZone: "Mars/Olympus_Mons" })
    expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "InvalidTimeZone", timeZone: "Mars/Olympus_Mons" })
  })

  it("next is strictly after the given time", () => {
    const cron = parse("*/10 * * * * ?")
    expect(Option.map(Cron.next(cron, Date.parse("2024-01-01T00:00:10Z")), (d) => d.toISOString())).toEqual(
      Option.some("2024-01-01T00:00:20.000Z")
    )
    expect(Option.map(Cron.next(cron, new Date("2024-01-01T00:00:09.999Z")), (d) => d.toISOString())).toEqual(
      Option.some("2024-01-01T00:00:10.000Z")
    )
  })
})

describe("G1 cron: bad expressions say where", () => {
  it("too few or too many fields", () => {
    expect(fault("0 0 0 * *")).toMatchObject({ field: 5, offset: 9 })
    expect(fault("")).toMatchObject({ field: 0, offset: 0 })
    expect(fault("0 0 0 * * ? 2024 x")).toMatchObject({ offset: 17 })
    expect(fault("0 0 0 * * ? 2024 x").field).toBeUndefined()
  })

  it("a character the field does not allow, at its own offset", () => {
    expect(fault("0 0 0 L * ?")).toMatchObject({ field: 3, offset: 6 })
    expect(fault("0 0 0 ? * MON#2")).toMatchObject({ field: 5, offset: 13 })
    expect(fault("0 0 0 ? * +MON")).toMatchObject({ field: 5, offset: 10 })
    expect(fault("0  0  12% * * ?")).toMatchObject({ field: 2, fieldName: "hour", offset: 8 })
    expect(fault("@daily")).toMatchObject({ offset: 6 })
  })

  it("? stands alone, and only in a day field", () => {
    expect(fault("0 0 0 1,? * ?")).toMatchObject({ field: 3, offset: 8 })
    expect(fault("0 0 ? * * ?")).toMatchObject({ field: 2, offset: 4 })
  })

  it("day of month and day of week cannot both be set", () => {
    const error = fault("0 0 0 1 * MON")
    expect(error).toMatchObject({ field: 5, offset: 10 })
    expect(error.message).toContain("put ? in one of them")
  })

  it("the faulty list element within a field", () => {
    expect(fault("0 5,70,10 * * * ?")).toMatchObject({ field: 1, offset: 4 })
    expect(fault("0,,5 * * * * ?")).toMatchObject({ field: 0, offset: 2 })
    expect(fault("*/0 * * * * ?")).toMatchObject({ field: 0, offset: 0 })
    expect(fault("0 0 0 ? * MON,5-2")).toMatchObject({ field: 5, offset: 14 })
  })

  it("the message names the field and the offset", () => {
    expect(fault("0 0 25 * * ?").message).toBe(
      `invalid cron expression "0 0 25 * * ?" in the hour field at offset 4: "25" is not valid here (allowed: 0-23 and * , - /)`
    )
  })
})
