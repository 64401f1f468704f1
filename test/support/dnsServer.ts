/**
 * A tiny authoritative DNS server on 127.0.0.1 (UDP, a free port) for
 * discovery tests: A, AAAA and SRV records from a mutable table, NXDOMAIN for
 * unknown names, SERVFAIL for names marked broken. Real DNS packets
 * (`dns-packet`), answered to a real resolver (`node:dns`).
 */
import { createSocket, type Socket } from "node:dgram"
import * as packet from "dns-packet"
import { Effect, type Scope } from "effect"

export interface Srv {
  readonly target: string
  readonly port: number
}

export interface Zone {
  A?: ReadonlyArray<string>
  AAAA?: ReadonlyArray<string>
  SRV?: ReadonlyArray<Srv>
  /** Answer SERVFAIL for this name. */
  broken?: boolean
}

export interface DnsServer {
  /** `127.0.0.1:port`, for `Resolver.setServers`. */
  readonly server: string
  /** The records by name; change them at will. */
  readonly zones: Map<string, Zone>
  /** How many queries were answered. */
  readonly queries: () => number
}

const answersFor = (question: packet.Question, zone: Zone): Array<packet.Answer> => {
  const name = question.name
  switch (question.type) {
    case "A":
      return (zone.A ?? []).map((data) => ({ name, type: "A", ttl: 1, class: "IN", data }))
    case "AAAA":
      return (zone.AAAA ?? []).map((data) => ({ name, type: "AAAA", ttl: 1, class: "IN", data }))
    case "SRV":
      return (zone.SRV ?? []).map((srv) => ({
        name,
        type: "SRV",
        ttl: 1,
        class: "IN",
        data: { priority: 10, weight: 10, port: srv.port, target: srv.target }
      }))
    default:
      return []
  }
}

export const startDnsServer: Effect.Effect<DnsServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<DnsServer & { readonly socket: Socket }>((resume) => {
    const socket = createSocket("udp4")
    const zones = new Map<string, Zone>()
    let queries = 0
    socket.on("message", (message, remote) => {
      // Test support: the datagram comes from our own resolver on 127.0.0.1, and UDP bounds its size.
      const query = packet.decode(message)
      const question = query.questions?.[0]
      if (question === undefined) return
      queries++
      const zone = zones.get(question.name.toLowerCase())
      const rcode = zone === undefined ? "NXDOMAIN" : zone.broken === true ? "SERVFAIL" : "NOERROR"
      const reply = packet.encode({
        id: query.id,
        type: "response",
        flags: packet.AUTHORITATIVE_ANSWER | (query.flags ?? 0) & packet.RECURSION_DESIRED | rcodeFlag(rcode),
        questions: [question],
        answers: zone === undefined || zone.broken === true ? [] : answersFor(question, zone)
      })
      socket.send(reply, remote.port, remote.address)
    })
    socket.bind(0, "127.0.0.1", () => {
      const { port } = socket.address()
      resume(Effect.succeed({ server: `127.0.0.1:${port}`, zones, queries: () => queries, socket }))
    })
  }),
  ({ socket }) => Effect.sync(() => socket.close())
)

const rcodeFlag = (rcode: "NOERROR" | "NXDOMAIN" | "SERVFAIL"): number =>
  rcode === "NXDOMAIN" ? 3 : rcode === "SERVFAIL" ? 2 : 0
