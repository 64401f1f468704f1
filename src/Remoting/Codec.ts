/**
 * The wire codec: how messages, replies and errors cross between nodes.
 *
 * - A message is encoded with its own `effect/Schema` (a protocol message is
 *   an instance of a `Schema.TaggedClass` / `Schema.TaggedRequest`, whose
 *   class is its schema) exactly once on the sender, and decoded exactly once
 *   on the receiver with the target actor's registered protocol.
 * - The encodings travel in msgpack frames (`internal/frame.ts`,
 *   `internal/msgpack.ts`): runs of tells to one target share one header.
 * - An ask's reply is the request's success or typed failure, encoded with
 *   the request's own schemas; our framework errors travel as themselves
 *   (`Errors.ActorError` is their Schema).
 *
 * Nothing here throws on bad input: every decoder returns an `Either`.
 *
 * @example
 * ```ts
 * import { Codec } from "effect-actors/Remoting"
 * // const encoded = Codec.encodeMessage(new Increment({ by: 1 }))   // Either<unknown, string>
 * // const decoded = Codec.decodeMessage(Counter.protocol, encoded)  // Either<Tagged, string>
 * ```
 * @since 0.1.0
 */
import { Cause, Context, Effect, Either, Exit, Option, Schema, SchemaAST } from "effect"
import { isRequest, poisonPill, type Protocol, type Tagged, Terminated } from "../Message.js"
import type { Resolver } from "../Pid.js"

type Encoder = (u: unknown) => Either.Either<unknown, string>
type Decoder = (u: unknown, context: DecodeContext) => Either.Either<Tagged, string>

/**
 * What decoding may need: `Pid.Resolver`, for messages and replies that
 * carry PIDs (`Pid.schema`). Without it such a field fails to decode.
 *
 * @since 0.1.0
 * @category models
 */
export type DecodeContext = Context.Context<Resolver> | Context.Context<never>

const noContext: DecodeContext = Context.empty()

/** A schema that may need the decode context (its fields hold PIDs). */
type AnySchema = Schema.Schema<any, any, Resolver>

const reason = (error: unknown): string => String((error as { message?: unknown })?.message ?? error)

const makeEncoder = (schema: Schema.Schema.AnyNoContext): Encoder => {
  const encode = Schema.encodeUnknownEither(schema)
  return (u) => Either.mapLeft(encode(u), (e) => reason(e))
}

/**
 * A schema without transformations decodes synchronously; one with them
 * (a class, a `Pid.schema` field) may need the resolver, so it decodes as an
 * Effect run at once with the decode context.
 */
const makeDecoder = (schema: AnySchema): Decoder => {
  if (SchemaAST.encodedAST(schema.ast) === schema.ast) {
    const decode = Schema.decodeUnknownEither(schema as Schema.Schema.AnyNoContext)
    return (u) => Either.mapLeft(decode(u), (e) => reason(e)) as Either.Either<Tagged, string>
  }
  const decode = Schema.decodeUnknown(schema)
  return (u, context) => {
    const exit = Effect.runSyncExit(Effect.provide(decode(u), context as Context.Context<Resolver>))
    if (Exit.isSuccess(exit)) return Either.right(exit.value as Tagged)
    const failure = Cause.failureOption(exit.cause)
    return Either.left(Option.isSome(failure) ? reason(failure.value) : Cause.pretty(exit.cause))
  }
}

/**
 * A protocol message's class is its schema, but decoding through the class
 * runs its constructor, which measured 11–30 µs per message here against
 * 1–2 µs for the struct of its fields. So a `Schema.Class` (TaggedClass,
 * TaggedRequest) is encoded and decoded through `Schema.Struct(fields)`, and
 * the decoded fields become an instance of the class's prototype: what
 * `new Class(fields, true)` produces (fields validated once, by the struct),
 * without paying for the constructor. Other schemas go through themselves.
 */
const classFields = (schema: unknown): Schema.Struct.Fields | undefined => {
  if (typeof schema !== "function") return undefined
  const fields = (schema as { readonly fields?: unknown }).fields
  return typeof fields === "object" && fields !== null ? fields as Schema.Struct.Fields : undefined
}

const makeMessageEncoder = (schema: Schema.Schema.AnyNoContext): Encoder => {
  const copy = copierOf(schema)
  if (copy !== null) return (u) => Either.right(copy(u as Record<string, unknown>))
  const fields = classFields(schema)
  return fields === undefined ? makeEncoder(schema) : makeEncoder(Schema.Struct(fields) as unknown as Schema.Schema.AnyNoContext)
}

type Copier = (message: Record<string, unknown>) => Record<string, unknown>

/**
 * A function that copies these keys into an object literal: every copy of
 * one class has the same hidden class (a loop adding the keys one by one
 * cost ~150 ns a message, and the packer then met many shapes). The keys
 * are the field names of a Schema class, written as JSON string literals.
 */
const makeCopier = (keys: ReadonlyArray<string>): Copier =>
  new Function("m", `return {${keys.map((key) => `${JSON.stringify(key)}: m[${JSON.stringify(key)}]`).join(", ")}}`) as Copier

/** Per Schema class: its copier when no field transforms anything, else `null`. */
const copiers = new WeakMap<object, Copier | null>()

const copierOf = (schema: object): Copier | null => {
  let copier = copiers.get(schema)
  if (copier === undefined) {
    const fields = Schema.isSchema(schema) ? classFields(schema) : undefined
    const ast = fields === undefined ? undefined : Schema.Struct(fields).ast
    // No field transforms anything (the common case): the encoding is the
    // fields themselves, already checked by the class constructor.
    copier = ast !== undefined && SchemaAST.encodedAST(ast) === ast ? makeCopier(Object.keys(fields!)) : null
    copiers.set(schema, copier)
  }
  return copier
}

/**
 * The encoding of a message whose class encodes by copying its fields (no
 * field transforms anything): it cannot fail. `undefined` for any other
 * message (encode it with `encodeMessage`). The remote tell's fast path.
 *
 * @internal
 */
export const encodeByCopy = (message: Tagged): Record<string, unknown> | undefined => {
  const ctor = (message as { readonly constructor?: unknown }).constructor
  if (typeof ctor !== "function") return undefined
  const copy = copierOf(ctor)
  return copy === null ? undefined : copy(message as unknown as Record<string, unknown>)
}

/**
 * `Schema.is` of a struct whose every field is required and a string, a
 * number, a boolean or a literal, as one plain function: the same answer
 * (an object that is not null, each such own property of the right type;
 * extra properties ignored), without ParseResult's machinery, which cost
 * about a third of a remote tell's decoding. `undefined` for any other
 * struct (refinements, optional fields, nested schemas...).
 */
const primitiveGuard = (ast: SchemaAST.AST): ((u: unknown) => boolean) | undefined => {
  if (!SchemaAST.isTypeLiteral(ast) || ast.indexSignatures.length > 0) return undefined
  const conditions: Array<string> = []
  for (const property of ast.propertySignatures) {
    if (property.isOptional || typeof property.name !== "string") return undefined
    const value = `u[${JSON.stringify(property.name)}]`
    const check = primitiveCheck(property.type, value)
    if (check === undefined) return undefined
    conditions.push(`has.call(u, ${JSON.stringify(property.name)}) && ${check}`)
  }
  // One expression per struct (generated from the field names and literals,
  // written as JSON literals): no loop, no closure per field.
  const guard = new Function(
    "has",
    `return (u) => typeof u === "object" && u !== null${conditions.map((condition) => ` && ${condition}`).join("")}`
  )
  return guard(Object.prototype.hasOwnProperty) as (u: unknown) => boolean
}

/** The check of one field's value as a JavaScript expression, or `undefined` when it is not a plain primitive. */
const primitiveCheck = (ast: SchemaAST.AST, value: string): string | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return `typeof ${value} === "string"`
    case "NumberKeyword":
      return `typeof ${value} === "number"`
    case "BooleanKeyword":
      return `typeof ${value} === "boolean"`
    case "Literal": {
      const literal = ast.literal
      const plain = typeof literal === "string" || typeof literal === "boolean" || literal === null ||
        (typeof literal === "number" && Number.isFinite(literal))
      return plain ? `${value} === ${JSON.stringify(literal)}` : undefined
    }
    default:
      return undefined
  }
}

/** Makes an instance of `prototype` holding these keys of a decoded value, in one fixed sequence of stores. */
const makeInstantiator = (prototype: object, keys: ReadonlyArray<string>): (u: unknown) => Tagged =>
  new Function(
    "p",
    `return (u) => { const o = Object.create(p); ${
      keys.map((key) => `o[${JSON.stringify(key)}] = u[${JSON.stringify(key)}];`).join(" ")
    } return o }`
  )(prototype) as (u: unknown) => Tagged

const makeMessageDecoder = (schema: AnySchema): Decoder => {
  const fields = classFields(schema)
  if (fields === undefined) return makeDecoder(schema)
  const struct = Schema.Struct(fields)
  const prototype = (schema as unknown as { readonly prototype: object }).prototype
  if (SchemaAST.encodedAST(struct.ast) === struct.ast) {
    // No transformation: validating is decoding; keep only the known fields.
    const is = primitiveGuard(struct.ast) ?? Schema.is(struct)
    const decodeFull = makeDecoder(struct as AnySchema)
    const instanceOf = makeInstantiator(prototype, Object.keys(fields))
    // `is` is exact (own properties only); decoding also reads inherited
    // ones: what it accepts still becomes an instance, else it explains.
    return (u, context) => is(u) ? Either.right(instanceOf(u)) : Either.map(decodeFull(u, context), instanceOf)
  }
  const decode = makeDecoder(struct as AnySchema)
  return (u, context) =>
    Either.map(decode(u, context), (decoded) => Object.assign(Object.create(prototype), decoded) as Tagged)
}

const encoders = new WeakMap<object, Encoder>()

/**
 * Encodes a message with its schema (the message's class), or explains why
 * it cannot.
 *
 * @since 0.1.0
 * @category messages
 */
export const encodeMessage = (message: Tagged): Either.Either<unknown, string> => {
  const ctor = (message as { readonly constructor?: unknown }).constructor
  if (typeof ctor !== "function" || !Schema.isSchema(ctor)) {
    return Either.left(`${message._tag} is not an instance of a Schema class`)
  }
  let encoder = encoders.get(ctor)
  if (encoder === undefined) {
    encoder = makeMessageEncoder(ctor as unknown as Schema.Schema.AnyNoContext)
    encoders.set(ctor, encoder)
  }
  return encoder(message)
}

const protocolDecoders = new WeakMap<Protocol, Map<string, Decoder>>()

const tagOf = (encoded: unknown): string | undefined => {
  if (typeof encoded !== "object" || encoded === null) return undefined
  const tag = (encoded as { readonly _tag?: unknown })._tag
  return typeof tag === "string" ? tag : undefined
}

/**
 * Decodes an encoded message with a protocol (plus the system messages every
 * actor accepts); an unknown tag or a payload that fails its schema is a
 * `Left` with the reason.
 *
 * @since 0.1.0
 * @category messages
 */
export const decodeMessage = (
  protocol: Protocol,
  encoded: unknown,
  context: DecodeContext = noContext
): Either.Either<Tagged, string> => {
  const tag = tagOf(encoded)
  if (tag === undefined) return Either.left("not a tagged message")
  if (tag === "PoisonPill") return Either.right(poisonPill)
  let decoders = protocolDecoders.get(protocol)
  if (decoders === undefined) {
    decoders = new Map()
    for (const schema of protocol) decoders.set(schema._tag, makeMessageDecoder(schema))
    decoders.set("Terminated", makeMessageDecoder(Terminated))
    protocolDecoders.set(protocol, decoders)
  }
  const decoder = decoders.get(tag)
  return decoder === undefined ? Either.left(`unknown message tag ${tag}`) : decoder(encoded, context)
}

/**
 * The tag of an encoded message, for errors and deadletters.
 *
 * @since 0.1.0
 * @category messages
 */
export const encodedTag = (encoded: unknown): string => tagOf(encoded) ?? "?"

// ------------------------------------------------------------------ replies

/**
 * A reply on the wire: the request's success or its typed failure, each in
 * the request's own encoding.
 *
 * @since 0.1.0
 * @category replies
 */
export type EncodedReply =
  | { readonly _tag: "Success"; readonly value: unknown }
  | { readonly _tag: "Failure"; readonly error: unknown }

const replyEncoders = new WeakMap<object, { success: Encoder; failure: Encoder }>()
const replyDecoders = new WeakMap<object, { success: Decoder; failure: Decoder }>()

const requestSchemas = (request: Tagged): Schema.WithResult.Any | undefined =>
  isRequest(request) ? request as Schema.WithResult.Any : undefined

/**
 * Encodes the success of a request (a tell's reply is `undefined`).
 *
 * @since 0.1.0
 * @category replies
 */
export const encodeSuccess = (request: Tagged, value: unknown): Either.Either<EncodedReply, string> => {
  const withResult = requestSchemas(request)
  if (withResult === undefined) return Either.right({ _tag: "Success", value: null })
  const coders = replyEncodersOf(request, withResult)
  return Either.map(coders.success(value), (encoded) => ({ _tag: "Success", value: encoded }))
}

/**
 * Encodes a typed failure of a request; `Left` when the value is not one.
 *
 * @since 0.1.0
 * @category replies
 */
export const encodeFailure = (request: Tagged, error: unknown): Either.Either<EncodedReply, string> => {
  const withResult = requestSchemas(request)
  if (withResult === undefined) return Either.left("a tell has no failure")
  const coders = replyEncodersOf(request, withResult)
  return Either.map(coders.failure(error), (encoded) => ({ _tag: "Failure", error: encoded }))
}

const replyEncodersOf = (request: Tagged, withResult: Schema.WithResult.Any) => {
  const ctor = request.constructor
  let coders = replyEncoders.get(ctor)
  if (coders === undefined) {
    coders = {
      success: makeEncoder(Schema.successSchema(withResult) as Schema.Schema.AnyNoContext),
      failure: makeEncoder(Schema.failureSchema(withResult) as Schema.Schema.AnyNoContext)
    }
    replyEncoders.set(ctor, coders)
  }
  return coders
}

/**
 * Decodes a reply for the request that was sent: `Right(Right(value))` on
 * success, `Right(Left(error))` for a typed failure, `Left` when malformed.
 *
 * @since 0.1.0
 * @category replies
 */
export const decodeReply = (
  request: Tagged,
  reply: unknown,
  context: DecodeContext = noContext
): Either.Either<Either.Either<unknown, unknown>, string> => {
  const withResult = requestSchemas(request)
  if (withResult === undefined) return Either.right(Either.right(undefined))
  const ctor = request.constructor
  let coders = replyDecoders.get(ctor)
  if (coders === undefined) {
    coders = {
      success: makeDecoder(Schema.successSchema(withResult) as AnySchema),
      failure: makeDecoder(Schema.failureSchema(withResult) as AnySchema)
    }
    replyDecoders.set(ctor, coders)
  }
  const tag = tagOf(reply)
  if (tag === "Success") return Either.map(coders.success((reply as { value: unknown }).value, context), Either.right)
  if (tag === "Failure") return Either.map(coders.failure((reply as { error: unknown }).error, context), Either.left)
  return Either.left("malformed reply")
}
