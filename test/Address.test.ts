import { describe, expect, it } from "@effect/vitest"
import { Effect, Equal, FastCheck as fc, Hash, HashMap, HashSet, Schema } from "effect"
import { Address } from "../src/index.js"

// What the code can print: names as the system accepts them (system names may be empty on addresses from the wire).
const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.~-]{0,20}$/)
const system = fc.oneof(fc.constant(""), segment)
const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain(), fc.constant("localhost"))
const node = fc.option(fc.record({ host, port: fc.integer({ min: 0, max: 65535 }) }), { nil: undefined })
const address = fc.record({ system, node, path: fc.array(segment, { maxLength: 5 }) }).map(({ node, path, system }) =>
  Address.make({ system, host: node?.host ?? "", port: node?.port ?? 0, path })
)

describe("addresses", () => {
  it.prop("parse(print(a)) = a, for systems, IPv4/IPv6/named hosts, ports and paths", [address], ([a]) => {
    const back = Address.parse(String(a))
    expect(back).toBeDefined()
    expect(Equal.equals(back, a)).toBe(true)
    expect(Hash.hash(back!)).toBe(Hash.hash(a))
    expect(String(back)).toBe(String(a))
  })

  it("prints IPv6 hosts in brackets and an empty system name as nothing", () => {
    const a = Address.make({ system: "", host: "::1", port: 4000, path: ["cart", "item-1"] })
    expect(String(a)).toBe("effect-actors://@[::1]:4000/cart/item-1")
    expect(Address.parse("effect-actors://@[::1]:4000/cart/item-1")).toMatchObject({ system: "", host: "::1", port: 4000 })
    expect(Address.parse("effect-actors://shop@[2001:db8::7]:80/a")?.host).toBe("2001:db8::7")
    expect(Address.parse("effect-actors://shop")?.path).toEqual([])
  })

  it("refuses what is not an address", () => {
    for (const text of ["", "http://x/y", "effect-actors://a@b/c", "effect-actors://a@h:99999/c", "effect-actors://a@::1:5/c"]) {
      expect(Address.parse(text)).toBeUndefined()
    }
  })

  it("two parses of one address are Equal, hash alike, and make a HashSet of size 1", () => {
    const text = "effect-actors://shop@127.0.0.1:4000/cart/item-1"
    const a = Address.parse(text)!
    const b = Address.parse(text)!
    expect(a).not.toBe(b)
    expect(Equal.equals(a, b)).toBe(true)
    expect(HashSet.size(HashSet.make(a, b))).toBe(1)
    expect(HashMap.get(HashMap.make([a, 1]), b)._tag).toBe("Some")
    expect(Equal.equals(a, Address.parse("effect-actors://shop@127.0.0.1:4000/cart/item-2"))).toBe(false)
    expect(Equal.equals(a, Address.parse("effect-actors://shop@127.0.0.1:4001/cart/item-1"))).toBe(false)
  })

  it.prop("the Schema encodes to the text and decodes back", [address], ([a]) => {
    const encoded = Schema.encodeSync(Address.schema)(a)
    expect(encoded).toBe(String(a))
    expect(Equal.equals(Schema.decodeUnknownSync(Address.schema)(encoded), a)).toBe(true)
  })

  it.effect("the Schema refuses a malformed address", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Schema.decodeUnknown(Address.schema)("effect-actors:/nope"))
      expect(String(error)).toContain("not an actor address")
    }))
})
