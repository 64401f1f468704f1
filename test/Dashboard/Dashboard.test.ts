/**
 * The dashboard endpoint on one node: the JSON snapshot, the event stream,
 * tell / ask / stop by JSON, and the guard (token, Host header, body size,
 * action header).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import * as Http from "node:http"
import { ActorSystem, Dashboard, Remoting } from "../../src/index.js"
import { Counter, Increment } from "../helpers.js"

const withNode = <A, E>(
  options: Dashboard.Options,
  body: (dashboard: Dashboard.Service, system: ActorSystem.Service) => Effect.Effect<A, E>,
  token?: string
) =>
  Effect.gen(function*() {
    const dashboard = yield* Dashboard.Dashboard
    const system = yield* ActorSystem.ActorSystem
    return yield* body(dashboard, system)
  }).pipe(
    Effect.provide(
      Dashboard.layer(options).pipe(
        Layer.provideMerge(Remoting.layer({ kinds: [], ...(token === undefined ? {} : { token }) })),
        Layer.provideMerge(ActorSystem.layer({ name: "dash" }))
      )
    ),
    Effect.scoped
  )

const call = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: the page or an event stream
    }
    return { status: response.status, body: body as any, headers: response.headers }
  })

/** A POST through node:http (fetch gives up on a server that answers before reading the whole body). */
const rawPost = (
  url: string,
  chunks: ReadonlyArray<string>,
  declareLength: boolean,
  headers: Record<string, string> = {},
  method = "POST"
) =>
  Effect.async<number | "closed">((resume) => {
    const target = new URL(url)
    const length = chunks.reduce((n, c) => n + c.length, 0)
    const request = Http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method,
      headers: { "x-effect-actors": "1", ...(declareLength ? { "content-length": String(length) } : {}), ...headers }
    }, (response) => {
      response.resume()
      resume(Effect.succeed(response.statusCode ?? 0))
    })
    request.on("error", () => resume(Effect.succeed("closed" as const)))
    for (const chunk of chunks) request.write(chunk)
    request.end()
  })

const post = (url: string, body?: unknown, headers: Record<string, string> = {}) =>
  call(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-effect-actors": "1", ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })

describe("Dashboard endpoint", () => {
  it.live("serves a snapshot of the node's actors and decodes JSON messages with the actor's protocol", () =>
    withNode({ interval: "50 millis" }, (dashboard, system) =>
      Effect.gen(function*() {
        yield* system.spawn(Counter, "counter")
        expect((yield* post(`${dashboard.url}api/actors/counter/tell`, { _tag: "Increment", by: 2 })).status).toBe(202)
        const asked = yield* post(`${dashboard.url}api/actors/counter/ask`, { _tag: "GetCount" })
        expect(asked).toMatchObject({ status: 200, body: { reply: 2 } })
        // A typed failure of the request comes back readable.
        const divided = yield* post(`${dashboard.url}api/actors/counter/ask`, { _tag: "Divide", dividend: 1, divisor: 0 })
        expect(divided.status).toBe(409)
        expect(divided.body.message).toContain("DivisionByZero")
        // A message that does not match the protocol: 400, saying which field and which protocol.
        const wrong = yield* post(`${dashboard.url}api/actors/counter/tell`, { _tag: "Increment", by: "two" })
        expect(wrong.status).toBe(400)
        expect(wrong.body.message).toContain("Counter's protocol (Increment, GetCount, Divide)")
        expect(wrong.body.message).toContain("by")
        const unknownTag = yield* post(`${dashboard.url}api/actors/counter/tell`, { _tag: "Reset" })
        expect(unknownTag.body.message).toContain("unknown message tag Reset")
        const tellAsAsk = yield* post(`${dashboard.url}api/actors/counter/ask`, { _tag: "Increment", by: 1 })
        expect(tellAsAsk.body.message).toContain("Increment is a tell")
        const missing = yield* post(`${dashboard.url}api/actors/nobody/tell`, { _tag: "Increment", by: 1 })
        expect(missing.status).toBe(404)

        const found = yield* call(`${dashboard.url}api/actors/counter`)
        expect(found.body).toMatchObject({ name: "counter", local: true })
        expect(found.body.address).toContain("dash@127.0.0.1")

        // A tell to a stopped actor is a deadletter.
        const victim = yield* system.spawn(Counter, "victim")
        yield* victim.stop
        yield* Effect.ignore(victim.tell(new Increment({ by: 1 })))
        yield* Effect.sleep("150 millis")
        const snapshot = yield* call(`${dashboard.url}api/snapshot`)
        const decoded = Schema.decodeUnknownSync(Dashboard.Snapshot)(snapshot.body)
        expect(decoded.cluster).toBe(false)
        const node = decoded.nodes[0]!
        expect(node).toMatchObject({ nodeId: "dash", status: "standalone", reachable: true })
        expect(node.report!.actors.map((a) => a.name)).toEqual(["counter"])
        expect(node.report!.actors[0]).toMatchObject({ kind: "Counter", processed: 3, mailbox: 0, restarts: 0 })
        // Passivation is on (2 minutes by default): the idle deadline is in the future.
        expect(node.report!.actors[0]!.passivatesAt).toBeGreaterThan(Date.now())
        expect(node.report!.deadletters.total).toBe(1)
        expect(node.report!.deadletters.latest).toMatchObject([{ tag: "Increment", reason: "actor stopped" }])
        expect(node.report!.deadletters.latest[0]!.recipient).toContain("/victim")

        expect((yield* post(`${dashboard.url}api/actors/counter/stop`)).status).toBe(200)
        expect((yield* post(`${dashboard.url}api/actors/counter/stop`)).status).toBe(404)
        // Drain needs a cluster.
        const drain = yield* post(`${dashboard.url}api/nodes/dash/drain`)
        expect(drain.status).toBe(400)
      })))

  it.live("streams the snapshot as server-sent events, a bounded number at once", () =>
    withNode({ interval: "50 millis", maxStreams: 1 }, (dashboard) =>
      Effect.promise(async () => {
        const response = await fetch(`${dashboard.url}api/events`)
        expect((await fetch(`${dashboard.url}api/events`)).status).toBe(503)
        expect(response.headers.get("content-type")).toContain("text/event-stream")
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        let text = ""
        while ((text.match(/\n\n/g) ?? []).length < 2) {
          const chunk = await reader.read()
          if (chunk.done) break
          text += decoder.decode(chunk.value)
        }
        await reader.cancel()
        const events = text.split("\n\n").filter((e) => e.startsWith("data: "))
        expect(events.length).toBeGreaterThanOrEqual(2)
        const first = Schema.decodeUnknownSync(Dashboard.Snapshot)(JSON.parse(events[0]!.slice(6)))
        expect(first.nodes[0]!.nodeId).toBe("dash")
        // The closed stream gave its place back.
        let again = await fetch(`${dashboard.url}api/events`)
        while (again.status === 503) {
          await again.body?.cancel()
          await new Promise((resolve) => setTimeout(resolve, 20))
          again = await fetch(`${dashboard.url}api/events`)
        }
        expect(again.status).toBe(200)
        await again.body?.cancel()
      })))

  it.live("asks for the remoting token: bearer header or a cookie set from ?token=", () =>
    withNode({}, (dashboard) =>
      Effect.gen(function*() {
        expect((yield* call(`${dashboard.url}api/snapshot`)).status).toBe(401)
        expect((yield* call(`${dashboard.url}`)).status).toBe(401)
        expect((yield* call(`${dashboard.url}api/snapshot`, { headers: { authorization: "Bearer nope" } })).status)
          .toBe(401)
        expect((yield* call(`${dashboard.url}api/snapshot`, { headers: { authorization: "Bearer s3cret" } })).status)
          .toBe(200)
        expect((yield* call(`${dashboard.url}?token=nope`, { redirect: "manual" })).status).toBe(401)
        const first = yield* call(`${dashboard.url}?token=s3cret`, { redirect: "manual" })
        expect(first.status).toBe(303)
        const cookie = first.headers.get("set-cookie")!
        expect(cookie).toContain("HttpOnly")
        expect(cookie).toContain("SameSite=Strict")
        const page = yield* call(dashboard.url, { headers: { cookie: cookie.split(";")[0]! } })
        expect(page.status).toBe(200)
        expect(page.body).toContain("<script type=\"module\"")
      }), "s3cret"))

  it.live("refuses oversized bodies, actions without the header, and foreign Host headers", () =>
    withNode({ maxBodyBytes: 1024 }, (dashboard, system) =>
      Effect.gen(function*() {
        yield* system.spawn(Counter, "counter")
        const tell = `${dashboard.url}api/actors/counter/tell`
        // Declared too large: refused before reading it.
        expect(yield* rawPost(tell, ["x".repeat(5000)], true)).toBe(413)
        // Not declared (chunked) and too large: refused once 1 KiB has been read.
        // (the server cuts the connection while the client is still sending: it cannot answer mid-body)
        expect(yield* rawPost(tell, Array.from({ length: 10 }, () => "x".repeat(500)), false)).toBe("closed")
        // The node lives on, and nothing reached the actor.
        expect(yield* post(`${dashboard.url}api/actors/counter/ask`, { _tag: "GetCount" })).toMatchObject({ body: { reply: 0 } })
        const plain = yield* call(`${dashboard.url}api/actors/counter/stop`, { method: "POST" })
        expect(plain.status).toBe(403)
        // A page of another site resolved to 127.0.0.1 (DNS rebinding) carries its own Host header.
        expect(yield* rawPost(`${dashboard.url}api/snapshot`, [], false, { host: "evil.example:80" }, "GET")).toBe(403)
        expect(yield* rawPost(`${dashboard.url}api/snapshot`, [], false, { host: "localhost:1" }, "GET")).toBe(200)
        expect((yield* call(`${dashboard.url}nowhere`)).status).toBe(404)
      })))

  it.effect("rejects bad options with InvalidArgument", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Dashboard.make({ port: 70000 })).pipe(Effect.provide(ActorSystem.layer({ name: "x" })))
      )
      expect(error._tag).toBe("InvalidArgument")
      expect(error.message).toContain("port")
    }))
})
