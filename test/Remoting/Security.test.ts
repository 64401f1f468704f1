import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { RemoteClient } from "../../src/index.js"
import { generateCerts } from "./certs.js"
import { Counter, GetCount, Increment, scopedNode } from "./fixtures.js"

const certs = generateCerts()

describe("H4 token", () => {
  it.scopedLive("accepts calls with the token and refuses calls without it", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b", { token: "s3cret" })
      const nodeB = { host: "127.0.0.1", port: b.port }
      const a = yield* scopedNode("a", { token: "s3cret" })
      const counter = yield* a.remoting.spawn(nodeB, Counter, "counter")
      yield* counter.tell(new Increment({ by: 1 }))
      expect(yield* counter.ask(new GetCount())).toBe(1)

      const noToken = yield* RemoteClient.make({ askTimeout: "2 seconds" })
      const refused = yield* Effect.flip(noToken.lookup({ ...nodeB, name: "counter" }))
      expect(refused._tag).toBe("Unauthorized")
      const wrongToken = yield* RemoteClient.make({ token: "guess" })
      const refusedAsk = yield* Effect.flip(wrongToken.ask({ ...nodeB, name: "counter" }, new GetCount()))
      expect(refusedAsk._tag).toBe("Unauthorized")
      // A refused tell never reaches the actor.
      yield* wrongToken.tell({ ...nodeB, name: "counter" }, new Increment({ by: 100 }))
      yield* Effect.sleep("100 millis")
      expect(yield* counter.ask(new GetCount())).toBe(1)
    }))
})

describe("H4 TLS and mutual TLS", () => {
  it.scopedLive("TLS: a client trusting the CA gets in, one that does not is refused", () =>
    Effect.gen(function*() {
      const b = yield* scopedNode("b", { serverTls: { cert: certs.serverCert, key: certs.serverKey } })
      const nodeB = { host: "127.0.0.1", port: b.port }
      const trusted = yield* RemoteClient.make({ tls: { ca: certs.ca } })
      const pid = yield* trusted.spawn(nodeB, Counter, "counter")
      yield* pid.tell(new Increment({ by: 2 }))
      expect(yield* trusted.ask({ ...nodeB, name: "counter" }, new GetCount())).toBe(2)

      const untrusting = yield* RemoteClient.make({ tls: { ca: certs.rogueCert } })
      const refused = yield* Effect.flip(untrusting.lookup({ ...nodeB, name: "counter" }))
      expect(refused._tag).toBe("NodeUnreachable")
      // TLS failures say what failed.
      expect(refused._tag === "NodeUnreachable" && refused.reason).toMatch(/server's certificate is unknown/)
      const wrongName = yield* RemoteClient.make({ tls: { ca: certs.ca, serverName: "wrong.example" } })
      const mismatch = yield* Effect.flip(wrongName.lookup({ ...nodeB, name: "counter" }))
      expect(mismatch._tag === "NodeUnreachable" && mismatch.reason).toMatch(/hostname mismatch/)
      const plain = yield* RemoteClient.make()
      const refusedPlain = yield* Effect.flip(
        plain.lookup({ ...nodeB, name: "counter" }).pipe(Effect.timeoutFail({ duration: "3 seconds", onTimeout: () => "hung" }))
      )
      expect(refusedPlain).not.toBe("hung")
    }))

  it.scopedLive("mTLS: only clients with a certificate from the CA get in, nodes talk both ways", () =>
    Effect.gen(function*() {
      const serverTls = { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requireClientCert: true }
      const clientTls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }
      const b = yield* scopedNode("b", { serverTls, tls: clientTls })
      const a = yield* scopedNode("a", { serverTls, tls: clientTls })
      const nodeB = { host: "127.0.0.1", port: b.port }
      const counter = yield* a.remoting.spawn(nodeB, Counter, "counter")
      yield* counter.tell(new Increment({ by: 3 }))
      expect(yield* counter.ask(new GetCount())).toBe(3)
      expect(Option.isSome(yield* b.remoting.lookup({ host: "127.0.0.1", port: a.port, name: "nobody" }))).toBe(false)

      const noCert = yield* RemoteClient.make({ tls: { ca: certs.ca } })
      const refused = yield* Effect.flip(noCert.lookup({ ...nodeB, name: "counter" }))
      expect(refused._tag).toBe("NodeUnreachable")
      expect(refused._tag === "NodeUnreachable" && refused.reason).toMatch(/requires a client certificate/)
      const rogue = yield* RemoteClient.make({ tls: { ca: certs.ca, cert: certs.rogueCert, key: certs.rogueKey } })
      const refusedRogue = yield* Effect.flip(rogue.lookup({ ...nodeB, name: "counter" }))
      expect(refusedRogue._tag).toBe("NodeUnreachable")
      expect(refusedRogue._tag === "NodeUnreachable" && refusedRogue.reason).toMatch(/certificate/)
      expect((yield* b.remoting.stats).tlsRefused).toBeGreaterThanOrEqual(2)
      // The node still serves good clients after refusing bad ones.
      expect(yield* counter.ask(new GetCount())).toBe(3)
    }))
})
