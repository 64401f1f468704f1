import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect, Either, Equal, FastCheck as fc, Hash, Schema } from "effect"
import { Actor, ActorSystem, Message } from "../src/index.js"
import * as Codec from "../src/Remoting/Codec.js"
import { Divide, DivisionByZero, GetCount, Increment } from "./helpers.js"

class Note extends Schema.TaggedClass<Note>()("Note", {
  text: Schema.String,
  tag: Schema.optional(Schema.String),
  priority: Schema.optionalWith(Schema.Number, { default: () => 3 }),
  positive: Schema.Number.pipe(Schema.positive())
}) {}

const CounterProtocol = [Increment, GetCount, Divide, Note] as const
const make = Message.constructors(CounterProtocol)

const Counter = Actor.make("Counter", {
  protocol: CounterProtocol,
  initialState: () => 0,
  receive: {
    Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
    GetCount: (_, ctx) => ctx.get,
    Divide: (msg) =>
      msg.divisor === 0 ? Effect.fail(new DivisionByZero({ dividend: msg.dividend })) : Effect.succeed(msg.dividend / msg.divisor),
    Note: () => Effect.void
  }
})

describe("Message.constructors: messages built per send", () => {
  // NaN is not Equal to itself whichever way the message is built.
  it.prop("builds what the Schema constructor builds: same class, same fields, Equal, same hash", [fc.double({ noNaN: true })], ([by]) => {
    const fast = make.Increment({ by })
    const slow = new Increment({ by })
    expect(fast).toBeInstanceOf(Increment)
    expect(fast._tag).toBe("Increment")
    expect(Reflect.ownKeys(fast)).toEqual(Reflect.ownKeys(slow))
    expect({ ...fast }).toEqual({ ...slow })
    expect(Equal.equals(fast, slow)).toBe(true)
    expect(Hash.hash(fast)).toBe(Hash.hash(slow))
  })

  it("requests keep their result schemas; optional fields stay absent; defaults apply", () => {
    const ask = make.GetCount()
    expect(ask).toBeInstanceOf(GetCount)
    expect(Equal.equals(ask, new GetCount())).toBe(true)
    expect(Schema.successSchema(ask)).toBe(Schema.successSchema(new GetCount()))
    const note = make.Note({ text: "hi", positive: 1 })
    expect(note).toEqual(new Note({ text: "hi", positive: 1 }))
    expect("tag" in note).toBe(false)
    expect(note.priority).toBe(3)
    expect(make.Note({ text: "hi", tag: "x", priority: 9, positive: 1 })).toEqual(
      new Note({ text: "hi", tag: "x", priority: 9, positive: 1 })
    )
  })

  it("skips run-time refinements locally; the remoting boundary checks them", () => {
    const bad = make.Note({ text: "hi", positive: -1 })
    expect(bad.positive).toBe(-1)
    expect(() => new Note({ text: "hi", positive: -1 })).toThrow()
    // At the remoting boundary the schema is applied: such a message does not cross.
    expect(Either.isLeft(Codec.encodeMessage(bad))).toBe(true)
    const forged = { _tag: "Note", text: "hi", positive: -1 }
    expect(Either.isLeft(Codec.decodeMessage(CounterProtocol, forged))).toBe(true)
    const good = Codec.decodeMessage(CounterProtocol, Either.getOrThrow(Codec.encodeMessage(make.Increment({ by: 2 }))))
    expect(Either.getOrThrow(good)).toEqual(new Increment({ by: 2 }))
  })

  it.scoped("handlers, tells and typed asks take them as any other message", () =>
    Effect.gen(function*() {
      const system = yield* ActorSystem.ActorSystem
      const counter = yield* system.spawn(Counter, "counter")
      for (let i = 0; i < 10; i++) yield* counter.tell(make.Increment({ by: 1 }))
      const n = yield* counter.ask(make.GetCount())
      expectTypeOf(n).toEqualTypeOf<number>()
      expect(n).toBe(10)
      const failed = yield* Effect.flip(counter.ask(make.Divide({ dividend: 1, divisor: 0 })))
      expectTypeOf(failed).toMatchTypeOf<DivisionByZero | { readonly _tag: string }>()
      expect(failed).toEqual(new DivisionByZero({ dividend: 1 }))
    }).pipe(Effect.provide(ActorSystem.layer({ name: "messages" }))))

  it("types follow the class constructors", () => {
    expectTypeOf(make.Increment).parameters.toEqualTypeOf<[props: { readonly by: number }]>()
    expectTypeOf(make.Increment({ by: 1 })).toEqualTypeOf<Increment>()
    expectTypeOf(make.GetCount()).toEqualTypeOf<GetCount>()
    expectTypeOf(Message.constructorOf(Increment)({ by: 1 })).toEqualTypeOf<Increment>()
    // @ts-expect-error a missing field is a compile error
    make.Increment({})
    // @ts-expect-error a field of the wrong type is a compile error
    make.Increment({ by: "1" })
    // @ts-expect-error no such message in the protocol
    void make.Reset
  })
})

describe("Codec: the decoding guard of plain fields", () => {
  class Sample extends Schema.TaggedClass<Sample>()("Sample", {
    text: Schema.String,
    n: Schema.Number,
    on: Schema.Boolean,
    kind: Schema.Literal("a", "b")
  }) {}
  class Plain extends Schema.TaggedClass<Plain>()("Plain", {
    text: Schema.String,
    n: Schema.Number,
    on: Schema.Boolean,
    one: Schema.Literal(1)
  }) {}
  class Odd extends Schema.TaggedClass<Odd>()("Odd", {
    "quote\"d key": Schema.String,
    said: Schema.Literal("he said \"hi\"\n")
  }) {}
  const protocol = [Sample, Plain, Odd] as const
  const value = fc.oneof(
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constantFrom(null, undefined, "a", "b", 1, "1"),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 })
  )
  const candidate = fc.record(
    { _tag: fc.constant("Plain"), text: value, n: value, on: value, one: value, extra: value },
    { requiredKeys: ["_tag"] }
  )

  it("decodes exactly what Schema.is of the fields accepts", () => {
    const is = Schema.is(Schema.Struct(Plain.fields))
    fc.assert(
      fc.property(candidate, (u) => {
        const decoded = Codec.decodeMessage(protocol, u)
        // Own properties only here (fast-check's records), so decoding and `is` agree.
        expect(Either.isRight(decoded)).toBe(is(u))
        if (Either.isRight(decoded)) {
          expect(decoded.right).toBeInstanceOf(Plain)
          expect(Object.keys(decoded.right).sort()).toEqual(["_tag", "n", "on", "one", "text"])
        }
      }),
      { numRuns: 2000 }
    )
  })

  it("refuses a literal outside its members; an inherited field decodes as Schema decodes it, into an instance", () => {
    expect(Either.isRight(Codec.decodeMessage(protocol, { _tag: "Sample", text: "", n: 0, on: true, kind: "b" }))).toBe(true)
    expect(Either.isLeft(Codec.decodeMessage(protocol, { _tag: "Sample", text: "", n: 0, on: true, kind: "c" }))).toBe(true)
    const inherited = Object.assign(Object.create({ text: "x" }), { _tag: "Sample", n: 0, on: true, kind: "a" })
    const odd = { _tag: "Odd", "quote\"d key": "k", said: "he said \"hi\"\n" }
    expect(Either.getOrThrow(Codec.decodeMessage(protocol, odd))).toEqual(new Odd({ "quote\"d key": "k", said: "he said \"hi\"\n" }))
    expect(Either.getOrThrow(Codec.encodeMessage(new Odd({ "quote\"d key": "k", said: "he said \"hi\"\n" })))).toEqual(odd)
    expect(Either.isLeft(Codec.decodeMessage(protocol, { ...odd, said: "he said hi" }))).toBe(true)
    const decoded = Either.getOrThrow(Codec.decodeMessage(protocol, inherited))
    expect(decoded).toBeInstanceOf(Sample)
    expect(decoded).toEqual(new Sample({ text: "x", n: 0, on: true, kind: "a" }))
  })
})
