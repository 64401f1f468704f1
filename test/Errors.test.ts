import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Cause, Effect, Equal, FastCheck as fc, Schema } from "effect"
import { Packr, Unpackr } from "msgpackr"
import { Errors } from "../src/index.js"

const address = "effect-actors://shop/counter"

describe("errors read well in logs", () => {
  const cases: ReadonlyArray<readonly [Error & { readonly _tag: string }, string]> = [
    [
      new Errors.MailboxFull({ address, messageTag: "Increment", capacity: 1000 }),
      `MailboxFull: mailbox of actor ${address} is full (capacity 1000) for message Increment`
    ],
    [
      new Errors.InvalidName({ value: "bad name!", reason: "must match [A-Za-z0-9][A-Za-z0-9_.~-]*" }),
      `InvalidName: invalid name "bad name!": must match [A-Za-z0-9][A-Za-z0-9_.~-]*`
    ],
    [new Errors.NameTaken({ actorName: "counter", address }), `NameTaken: name "counter" is taken by actor ${address}`],
    [new Errors.ActorStopped({ address }), `ActorStopped: actor ${address} has stopped`],
    [
      new Errors.ActorStopped({ address, messageTag: "Increment" }),
      `ActorStopped: actor ${address} has stopped; refused message Increment`
    ],
    [new Errors.ActorNotFound({ actorName: "cart-7" }), `ActorNotFound: no live actor named "cart-7"`],
    [
      new Errors.AskTimeout({ address, messageTag: "GetCount", timeoutMillis: 5000 }),
      `AskTimeout: actor ${address} did not reply to GetCount within 5000 ms`
    ],
    [
      new Errors.UnknownMessage({ address, messageTag: "Reset" }),
      `UnknownMessage: actor ${address} does not accept message Reset`
    ],
    [new Errors.InvalidArgument({ reason: "ask timeout must be positive, got 0 ms" }), "InvalidArgument: ask timeout must be positive, got 0 ms"],
    [
      new Errors.SpawnFailed({ actorName: "db", reason: "preStart failed", cause: Cause.fail("no database") }),
      `SpawnFailed: spawning actor "db" failed: preStart failed`
    ],
    [
      new Errors.AskFailed({ address, messageTag: "GetCount", reason: "the handler died" }),
      `AskFailed: ask GetCount to actor ${address} failed: the handler died`
    ],
    [
      new Errors.BatchAskFailed({ index: 2, error: new Errors.ActorNotFound({ actorName: "x" }) }),
      `BatchAskFailed: request 2 of a batchAsk failed: ActorNotFound: no live actor named "x"`
    ],
    [new Errors.StashFull({ address, capacity: 100 }), `StashFull: stash of actor ${address} is full (capacity 100)`],
    [
      new Errors.KindNotRegistered({ kind: "Unknown", node: "127.0.0.1:4000" }),
      "KindNotRegistered: kind Unknown is not registered on node 127.0.0.1:4000"
    ],
    [
      new Errors.DecodeError({ address, messageTag: "Increment", reason: "unknown message tag Increment" }),
      `DecodeError: cannot encode or decode message Increment for actor ${address}: unknown message tag Increment`
    ],
    [
      new Errors.DecodeError({ address: "", messageTag: "", reason: "malformed batch" }),
      "DecodeError: cannot encode or decode a frame: malformed batch"
    ],
    [
      new Errors.NodeUnreachable({ node: "127.0.0.1:4000", reason: "connect ECONNREFUSED" }),
      "NodeUnreachable: node 127.0.0.1:4000 is unreachable: connect ECONNREFUSED"
    ],
    [
      new Errors.Unauthorized({ node: "127.0.0.1:4000", reason: "missing or wrong token" }),
      "Unauthorized: node 127.0.0.1:4000 refused the call: missing or wrong token"
    ],
    [
      new Errors.ExpectationFailed({
        probe: "p",
        expectation: "expectMessage",
        expected: "A",
        received: "B",
        differences: [],
        message: "expectMessage failed on p"
      }),
      "ExpectationFailed: expectMessage failed on p"
    ]
  ]
  it.each(cases.map(([error, text]) => [error._tag as string, error, text] as const))("%s", (_, error, text) => {
    expect(String(error)).toBe(text)
    expect(error).toBeInstanceOf(Error)
  })

  it.effect("a failure logged by Effect shows the message, not 'An error has occurred'", () =>
    Effect.gen(function*() {
      const cause = yield* Effect.cause(Effect.fail(new Errors.MailboxFull({ address, messageTag: "Increment", capacity: 3 })))
      expect(Cause.pretty(cause)).toContain(`MailboxFull: mailbox of actor ${address} is full (capacity 3) for message Increment`)
    }))

  it("every error but BatchAskFailed is part of the wire union", () => {
    expect(Errors.isActorError(new Errors.NodeUnreachable({ node: "n", reason: "r" }))).toBe(true)
    expect(Errors.isActorError(new Errors.BatchAskFailed({ index: 0, error: "x" }))).toBe(false)
    expect(Errors.isActorError({ _tag: "ActorNotFound", name: "x" })).toBe(false)
  })
})

describe("errors cross the wire through their Schema", () => {
  const encode = Schema.encodeSync(Errors.ActorError)
  const decode = Schema.decodeUnknownSync(Errors.ActorError)
  const packr = new Packr({ useRecords: true })
  const unpackr = new Unpackr({ useRecords: true })
  // Through msgpack, as remoting carries them.
  const overTheWire = (error: Errors.ActorError) => decode(unpackr.unpack(packr.pack(encode(error))))

  // msgpack writes -0 as the integer 0: not a value any error carries.
  const errors = Arbitrary.make(Errors.ActorError).filter((e) => !Object.values(e).some((v) => Object.is(v, -0)))

  it.prop("decode(encode(e)) is the same error (property over the union)", [errors], ([error]) => {
    const back = overTheWire(error)
    expect(back._tag).toBe(error._tag)
    expect(back.constructor).toBe(error.constructor)
    expect(back.message).toBe(error.message)
    if (error._tag === "SpawnFailed") {
      // The cause crosses as its rendering (a Cause or a stack does not travel): stable from then on.
      expect(encode(overTheWire(back))).toEqual(encode(back))
    } else {
      expect({ ...back }).toEqual({ ...error })
    }
  })

  it("an error that crossed is Equal to the one sent, and catchTag still works", () => {
    const error = new Errors.MailboxFull({ address, messageTag: "Increment", capacity: 3 })
    const back = overTheWire(error)
    expect(Equal.equals(back, error)).toBe(true)
    const caught = Effect.runSync(Effect.catchTag(Effect.fail(back), "MailboxFull", (e) => Effect.succeed(e.capacity)))
    expect(caught).toBe(3)
  })

  it("a SpawnFailed's cause arrives as its rendering", () => {
    const error = new Errors.SpawnFailed({ actorName: "db", reason: "preStart failed", cause: Cause.fail("no database") })
    const back = overTheWire(error)
    expect(back).toBeInstanceOf(Errors.SpawnFailed)
    expect(String((back as Errors.SpawnFailed).cause)).toContain("no database")
  })

  it("malformed input is refused by the Schema", () => {
    expect(() => decode({ _tag: "MailboxFull", address: "a" })).toThrow()
    expect(() => decode({ _tag: "NoSuchError" })).toThrow()
    fc.assert(fc.property(fc.anything(), (u) => {
      try {
        const error = decode(u)
        expect(Errors.isActorError(error)).toBe(true)
      } catch (e) {
        expect((e as { readonly _tag?: unknown })._tag).toBe("ParseError")
      }
    }))
  })
})
