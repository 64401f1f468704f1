import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { invalidName } from "../../src/internal/system.js"

/** The rule for actor names, as the documentation states it. */
const rule = /^[A-Za-z0-9][A-Za-z0-9_.~-]{0,254}$/

/** Characters near every boundary of the rule, and a few far from it. */
const characters = fc.constantFrom(
  ..."azAZ09/:@[`{".split(""),
  "_", ".", "~", "-", " ", "é", "\u0000", "\uD83D", "ß", "Ａ", "٣"
)

describe("actor names", () => {
  it("a name is accepted exactly when it follows [A-Za-z0-9][A-Za-z0-9_.~-]*, at most 255 characters", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: characters, maxLength: 12 }), fc.string({ maxLength: 300 })), (name) => {
        expect(invalidName(name) === undefined).toBe(rule.test(name))
      }),
      { numRuns: 5_000 }
    )
  })

  it("says what is wrong", () => {
    expect(invalidName("")).toBe("a name cannot be empty")
    expect(invalidName("a".repeat(256))).toBe("a name has at most 255 characters")
    expect(invalidName("a".repeat(255))).toBeUndefined()
    expect(invalidName("-a")).toContain("starts with a letter or digit")
    expect(invalidName("a/b")).toContain("holds only letters, digits and _ . ~ -")
    expect(invalidName("idle-42_x.y~z")).toBeUndefined()
  })
})
