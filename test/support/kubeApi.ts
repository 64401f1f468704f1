/**
 * A Kubernetes API endpoint on 127.0.0.1 for discovery tests: answers
 * `GET /api/v1/namespaces/{ns}/pods?labelSelector=...` from a mutable list of
 * pods, checks the bearer token, and filters by an `a=b,c=d` selector as the
 * API server does. `body` overrides the answer (to serve garbage or too much).
 */
import { createServer } from "node:http"
import { Effect, type Scope } from "effect"

export interface FakePod {
  readonly name: string
  readonly namespace: string
  readonly labels: Readonly<Record<string, string>>
  ip?: string
  ready: boolean
  terminating?: boolean
  readonly ports: ReadonlyArray<{ readonly name?: string; readonly containerPort: number }>
}

export interface KubeApi {
  readonly url: string
  readonly token: string
  readonly pods: Array<FakePod>
  /** When set, the raw body of every answer. */
  body: string | undefined
  /** Send the answer in chunks, without a content-length (as a streaming API server may). */
  chunked: boolean
  readonly requests: () => number
}

const toJson = (pod: FakePod) => ({
  metadata: {
    name: pod.name,
    namespace: pod.namespace,
    labels: pod.labels,
    ...(pod.terminating === true ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {})
  },
  spec: { containers: [{ name: "node", image: "shop:1", ports: pod.ports.map((p) => ({ ...p, protocol: "TCP" })) }] },
  status: {
    phase: pod.ip === undefined ? "Pending" : "Running",
    ...(pod.ip === undefined ? {} : { podIP: pod.ip }),
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: pod.ready ? "True" : "False" }
    ]
  }
})

const matches = (labels: Readonly<Record<string, string>>, selector: string) =>
  selector.split(",").every((term) => {
    const [key, value] = term.split("=")
    return key !== undefined && labels[key] === value
  })

export const startKubeApi = (token: string): Effect.Effect<KubeApi, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<KubeApi & { readonly close: () => void }>((resume) => {
      let requests = 0
      const api = { pods: [] as Array<FakePod>, body: undefined as string | undefined, chunked: false }
      const server = createServer((req, res) => {
        requests++
        const url = new URL(req.url ?? "/", "http://127.0.0.1")
        const route = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname)
        if (req.headers.authorization !== `Bearer ${token}`) {
          res.writeHead(401, { "content-type": "application/json" }).end(`{"kind":"Status","code":401}`)
          return
        }
        if (req.method !== "GET" || route === null) {
          res.writeHead(404).end()
          return
        }
        const selector = url.searchParams.get("labelSelector") ?? ""
        const items = api.pods.filter((pod) => pod.namespace === route[1] && matches(pod.labels, selector)).map(toJson)
        const body = api.body ?? JSON.stringify({ kind: "PodList", apiVersion: "v1", items })
        res.writeHead(200, { "content-type": "application/json" })
        if (!api.chunked) return res.end(body)
        for (let at = 0; at < body.length; at += 512) res.write(body.slice(at, at + 512))
        res.end()
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed(Object.assign(api, {
          url: `http://127.0.0.1:${port}`,
          token,
          requests: () => requests,
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        })))
      })
    }),
    (api) => Effect.sync(() => api.close())
  )
