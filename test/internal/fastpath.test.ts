import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { MISS, runIfSync } from "../../src/internal/fastpath.js"

describe("internal fast path", () => {
  it("runs plain sync thunks and successes inline", () => {
    let ran = 0
    expect(runIfSync(Effect.sync(() => ++ran))).toBe(1)
    expect(runIfSync(Effect.succeed("x"))).toBe("x")
    expect(runIfSync(Effect.void)).toBe(undefined)
    expect(ran).toBe(1)
  })

  it("leaves everything else to the runtime", () => {
    expect(runIfSync(Effect.fail("no"))).toBe(MISS)
    expect(runIfSync(Effect.die("no"))).toBe(MISS)
    expect(runIfSync(Effect.gen(function*() { return 1 }))).toBe(MISS)
    expect(runIfSync(Effect.sleep("1 second"))).toBe(MISS)
    expect(runIfSync(Effect.map(Effect.succeed(1), (n) => n + 1))).toBe(MISS)
  })

  it("lets a throwing thunk throw (the cell turns it into a defect)", () => {
    expect(() => runIfSync(Effect.sync(() => { throw new Error("boom") }))).toThrow("boom")
  })
})
