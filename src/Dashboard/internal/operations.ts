/**
 * What the dashboard does on the node that runs an actor: decode a JSON
 * message with the actor's own protocol and tell or ask it (the reply
 * encoded back with the request's schema), and the report a peer asks for.
 * The protocol of the reporter actor (`ea.dashboard`) that every node with
 * a dashboard (or `Dashboard.layerReporter`) runs lives here too: peers
 * reach it over the remoting wire.
 *
 * @internal
 */
import { Cause, Context, Effect, Either, Exit, Option, Schema } from "effect"
import * as Actor from "../../Actor.js"
import { isRequest, type Tagged } from "../../Message.js"
import { Resolver } from "../../Pid.js"
import * as Codec from "../../Remoting/Codec.js"
import { resolverOf } from "../../internal/resolver.js"
import type { SystemImpl } from "../../internal/system.js"
import { LocalReport, OperationFailed } from "./model.js"

/** The name of the reporter actor on each node. */
export const reporterName = "ea.dashboard"

/** A peer asks for this node's report. */
export class Report extends Schema.TaggedRequest<Report>()("Report", {
  failure: Schema.Never,
  success: LocalReport,
  payload: {}
}) {}

/** A peer asks this node to leave the cluster gracefully. */
export class Drain extends Schema.TaggedRequest<Drain>()("Drain", {
  failure: OperationFailed,
  success: Schema.Boolean,
  payload: {}
}) {}

/** A peer asks this node to deliver a JSON message to one of its actors. */
export class Deliver extends Schema.TaggedRequest<Deliver>()("Deliver", {
  failure: OperationFailed,
  success: Schema.Unknown,
  payload: { name: Schema.String, message: Schema.Unknown, ask: Schema.Boolean }
}) {}

/** An error as text: `Tag: message`, or its string. */
export const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    const tag = "_tag" in error && typeof error._tag === "string" ? `${error._tag}: ` : ""
    return `${tag}${error.message}`
  }
  return String(error)
}

/**
 * Decodes `json` with the protocol of the local actor `name` and tells or
 * asks it; an ask answers the reply in the request's JSON encoding.
 */
export const deliverLocal = (
  impl: SystemImpl,
  name: string,
  json: unknown,
  ask: boolean
): Effect.Effect<unknown, OperationFailed> =>
  Effect.suspend(() => {
    const operation = ask ? "ask" : "tell"
    const fail = (reason: string, status = 400) =>
      Effect.fail(new OperationFailed({ operation, target: name, reason, status }))
    const cell = impl.lookup(name)
    if (cell === undefined) return fail(`no actor named ${name} on ${impl.name}`, 404)
    const kind = cell.def.kind
    const context = Context.make(Resolver, resolverOf(impl))
    const decoded = Codec.decodeMessage(cell.def.protocol, json, context)
    if (Either.isLeft(decoded)) {
      const tags = cell.def.protocol.map((schema) => schema._tag).join(", ")
      return fail(`the message does not match ${kind}'s protocol (${tags}): ${decoded.left}`)
    }
    const message: Tagged = decoded.right
    if (!ask) {
      return Effect.mapError(cell.pid.tell(message), (error) =>
        new OperationFailed({ operation, target: name, reason: describeError(error), status: 409 }))
    }
    if (!isRequest(message)) return fail(`${message._tag} is a tell in ${kind}'s protocol: tell it, do not ask`)
    return Effect.flatMap(Effect.exit(cell.pid.ask(message as never) as Effect.Effect<unknown, unknown>), (exit) => {
      if (Exit.isSuccess(exit)) {
        const encoded = Codec.encodeSuccess(message, exit.value)
        return Either.isRight(encoded) && encoded.right._tag === "Success"
          ? Effect.succeed(encoded.right.value)
          : fail(`the reply does not encode: ${Either.isLeft(encoded) ? encoded.left : "?"}`, 500)
      }
      const failure = Cause.failureOption(exit.cause)
      if (Option.isNone(failure)) return fail(Cause.pretty(exit.cause), 500)
      const typed = Codec.encodeFailure(message, failure.value)
      const reason = Either.isRight(typed) && typed.right._tag === "Failure"
        ? `the actor answered a failure: ${JSON.stringify(typed.right.error)}`
        : describeError(failure.value)
      return fail(reason, 409)
    })
  })

/** What the reporter actor needs from its node. */
export interface ReporterBackend {
  readonly report: Effect.Effect<LocalReport>
  readonly drain: Effect.Effect<boolean, OperationFailed>
  readonly deliver: (name: string, json: unknown, ask: boolean) => Effect.Effect<unknown, OperationFailed>
}

/** The reporter actor: answers peers' dashboards. */
export const reporter = (backend: ReporterBackend) =>
  Actor.make("effect-actors/DashboardReporter", {
    protocol: [Report, Drain, Deliver],
    passivateAfter: "never",
    receive: {
      Report: () => backend.report,
      Drain: () => backend.drain,
      Deliver: (message) => backend.deliver(message.name, message.message, message.ask)
    }
  })
