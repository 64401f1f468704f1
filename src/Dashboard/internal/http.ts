/**
 * The dashboard's HTTP face: the page, the JSON API, the server-sent events,
 * and the guard in front of them (the token, the Host header, the size of
 * request bodies, the number of open event streams).
 *
 * @internal
 */
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Duration, Effect, Option, Schedule, Stream } from "effect"
import { timingSafeEqual } from "node:crypto"
import { hashToken } from "../../Remoting/internal/inbound.js"
import { OperationFailed } from "./model.js"
import type { DashboardNode } from "./node.js"
import { appJs, pageHtml } from "./page.js"

/** The cookie a first visit with `?token=` sets. */
export const cookieName = "effect_actors_token"

/** The header every POST must carry: a cross-site form cannot set it without a CORS preflight, which is refused. */
export const actionHeader = "x-effect-actors"

export interface HttpSettings {
  readonly token: string | undefined
  /** Host names the Host header may carry (DNS rebinding guard); empty: any. */
  readonly hosts: ReadonlyArray<string>
  readonly maxBodyBytes: number
  readonly maxStreams: number
  readonly interval: Duration.Duration
}

const json = (body: unknown, status = 200) =>
  HttpServerResponse.unsafeJson(body, { status, headers: { "cache-control": "no-store" } })

const failure = (error: OperationFailed) =>
  json({ error: error._tag, operation: error.operation, target: error.target, message: error.message }, error.status)

const problem = (status: number, message: string) => json({ error: "Refused", message }, status)

/** The host name of a Host header (`[::1]:80` → `::1`, `a:80` → `a`). */
const hostName = (host: string): string => {
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"))
  const colon = host.lastIndexOf(":")
  return colon < 0 ? host : host.slice(0, colon)
}

export const makeApp = (node: DashboardNode, settings: HttpSettings) => {
  const expected = settings.token === undefined ? undefined : hashToken(settings.token)
  const tokenMatches = (given: string | undefined): boolean =>
    expected !== undefined && given !== undefined && given.length <= 4096 && timingSafeEqual(hashToken(given), expected)
  let streams = 0

  const readJson = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const length = Number(request.headers["content-length"] ?? "0")
    if (!(length <= settings.maxBodyBytes)) {
      return yield* Effect.fail(
        new OperationFailed({ operation: "read", target: "body", reason: `a body has at most ${settings.maxBodyBytes} bytes`, status: 413 })
      )
    }
    const text = yield* request.text.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(settings.maxBodyBytes)),
      Effect.mapError(() =>
        new OperationFailed({ operation: "read", target: "body", reason: `a body has at most ${settings.maxBodyBytes} bytes`, status: 413 })
      )
    )
    if (text.trim() === "") return undefined
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) =>
        new OperationFailed({ operation: "read", target: "body", reason: `not JSON: ${String(error)}`, status: 400 })
    })
  })

  const param = (key: string) => Effect.map(HttpRouter.params, (params) => params[key] ?? "")

  const respond = <A, R>(effect: Effect.Effect<A, OperationFailed, R>, status = 200) =>
    Effect.catchAll(Effect.map(effect, (body) => json(body, status)), (error) => Effect.succeed(failure(error)))

  const events = Effect.suspend(() => {
    if (streams >= settings.maxStreams) return Effect.succeed(problem(503, "too many event streams open"))
    streams++
    const encoder = new TextEncoder()
    const body = Stream.repeatEffectWithSchedule(node.snapshot, Schedule.spaced(settings.interval)).pipe(
      Stream.map((snapshot) => encoder.encode(`data: ${JSON.stringify(snapshot)}\n\n`)),
      Stream.ensuring(Effect.sync(() => {
        streams--
      }))
    )
    return Effect.succeed(HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-store", "x-accel-buffering": "no" }
    }))
  })

  const router = HttpRouter.empty.pipe(
    HttpRouter.get("/", Effect.succeed(HttpServerResponse.html(pageHtml))),
    HttpRouter.get(
      "/app.js",
      Effect.succeed(HttpServerResponse.text(appJs, { contentType: "text/javascript; charset=utf-8" }))
    ),
    HttpRouter.get("/api/snapshot", Effect.map(node.snapshot, (snapshot) => json(snapshot))),
    HttpRouter.get("/api/events", events),
    HttpRouter.get("/api/actors/:name", respond(Effect.flatMap(param("name"), (name) => node.lookup(name)))),
    HttpRouter.post(
      "/api/actors/:name/tell",
      respond(Effect.flatMap(param("name"), (name) =>
        Effect.flatMap(readJson, (body) => Effect.as(node.deliver(name, body, false), { delivered: true }))), 202)
    ),
    HttpRouter.post(
      "/api/actors/:name/ask",
      respond(Effect.flatMap(param("name"), (name) =>
        Effect.flatMap(readJson, (body) => Effect.map(node.deliver(name, body, true), (reply) => ({ reply })))))
    ),
    HttpRouter.post(
      "/api/actors/:name/stop",
      respond(Effect.flatMap(param("name"), (name) => Effect.as(node.stop(name), { stopped: name })))
    ),
    HttpRouter.post(
      "/api/nodes/:node/drain",
      respond(Effect.flatMap(param("node"), (id) => Effect.map(node.drain(id), (draining) => ({ node: id, draining }))), 202)
    )
  )

  /** The guard: Host header, token (bearer or cookie, or `?token=` on the page, which sets the cookie), action header. */
  return Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const host = request.headers["host"] ?? ""
    if (settings.hosts.length > 0 && !settings.hosts.includes(hostName(host).toLowerCase())) {
      return problem(403, `unexpected Host header ${JSON.stringify(host)}`)
    }
    const url = new URL(request.url, "http://dashboard")
    if (expected !== undefined) {
      const query = url.searchParams.get("token") ?? undefined
      if (query !== undefined && request.method === "GET" && url.pathname === "/") {
        if (!tokenMatches(query)) return problem(401, "wrong token")
        return HttpServerResponse.redirect("/", { status: 303 }).pipe(
          HttpServerResponse.unsafeSetCookie(cookieName, query, { httpOnly: true, sameSite: "strict", path: "/" })
        )
      }
      const authorization = request.headers["authorization"]
      const bearer = authorization?.startsWith("Bearer ") === true ? authorization.slice(7) : undefined
      if (!tokenMatches(bearer) && !tokenMatches(request.cookies[cookieName])) {
        return problem(401, "a token is required: Authorization: Bearer <token>, or open /?token=<token> once")
      }
    }
    if (request.method === "POST" && request.headers[actionHeader] === undefined) {
      return problem(403, `actions need the ${actionHeader} header`)
    }
    return yield* router
  }).pipe(
    Effect.catchTag("RouteNotFound", () => Effect.succeed(problem(404, "no such route")))
  )
}
