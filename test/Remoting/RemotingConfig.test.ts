import { describe, expect, it } from "@effect/vitest"
import { Config, ConfigProvider, Context, Duration, Effect, Layer } from "effect"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ActorSystem, Remoting } from "../../src/index.js"
import { generateCerts } from "./certs.js"
import { Counter, GetCount, Increment, scopedNode } from "./fixtures.js"

const certs = generateCerts()

/** The certificates as PEM files, as a node's environment would point at them. */
const files = Effect.acquireRelease(
  Effect.sync(() => {
    const dir = mkdtempSync(join(tmpdir(), "effect-actors-config-"))
    const write = (name: string, pem: string) => {
      writeFileSync(join(dir, name), pem)
      return join(dir, name)
    }
    return {
      dir,
      ca: write("ca.pem", certs.ca),
      serverCert: write("server.pem", certs.serverCert),
      serverKey: write("server.key", certs.serverKey),
      clientCert: write("client.pem", certs.clientCert),
      clientKey: write("client.key", certs.clientKey)
    }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A provider reading keys the way the environment holds them: `REMOTING_SERVER_TLS_CERT_FILE`. */
const env = (entries: Record<string, string>) =>
  ConfigProvider.fromMap(new Map(Object.entries(entries)), { pathDelim: "_" }).pipe(ConfigProvider.constantCase)

const fromEnv = Config.nested(Remoting.config, "remoting")

describe("H4 Remoting.layerConfig", () => {
  it.scopedLive("a node configured from its environment: port, token, mutual TLS from PEM files", () =>
    Effect.gen(function*() {
      const pem = yield* files
      const environment = env({
        ACTORS_NAME: "configured",
        REMOTING_HOST: "127.0.0.1",
        REMOTING_PORT: "0",
        REMOTING_TOKEN: "s3cret",
        REMOTING_MAX_BATCH: "512",
        REMOTING_PROBE_INTERVAL: "250 millis",
        REMOTING_SERVER_TLS_CERT_FILE: pem.serverCert,
        REMOTING_SERVER_TLS_KEY_FILE: pem.serverKey,
        REMOTING_SERVER_TLS_CA_FILE: pem.ca,
        REMOTING_SERVER_TLS_REQUIRE_CLIENT_CERT: "true",
        REMOTING_TLS_CA_FILE: pem.ca,
        REMOTING_TLS_CERT_FILE: pem.clientCert,
        REMOTING_TLS_KEY_FILE: pem.clientKey
      })
      const options = yield* Effect.withConfigProvider(fromEnv, environment)
      expect(options).toMatchObject({
        host: "127.0.0.1",
        port: 0,
        token: "s3cret",
        maxBatch: 512,
        probeInterval: Duration.millis(250),
        serverTls: { requireClientCert: true }
      })
      expect(String(options.serverTls?.cert)).toBe(certs.serverCert)
      expect(String(options.tls?.key)).toBe(certs.clientKey)

      const context = yield* Layer.build(
        Remoting.layerConfig(Config.map(fromEnv, (read) => ({ ...read, kinds: [Counter] }))).pipe(
          Layer.provideMerge(ActorSystem.layerConfig(Config.nested(ActorSystem.config, "actors"))),
          Layer.provide(Layer.setConfigProvider(environment))
        )
      )
      const configured = Context.get(context, Remoting.Remoting)
      expect(configured.port).toBeGreaterThan(0)
      // Only a node with the token and a client certificate from the CA gets in.
      const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }
      const peer = yield* scopedNode("peer", { token: "s3cret", tls })
      const counter = yield* peer.remoting.spawn({ host: "127.0.0.1", port: configured.port }, Counter, "counter")
      yield* counter.tell(new Increment({ by: 2 }))
      expect(yield* counter.ask(new GetCount())).toBe(2)
      const stranger = yield* scopedNode("stranger", { tls })
      const refused = yield* Effect.flip(
        stranger.remoting.lookup({ host: "127.0.0.1", port: configured.port, name: "counter" })
      )
      expect(refused._tag).toBe("Unauthorized")
    }))

  it.effect("without keys it is the defaults (plain TCP on 127.0.0.1, a free port)", () =>
    Effect.gen(function*() {
      expect(yield* Effect.withConfigProvider(fromEnv, env({}))).toEqual({})
    }))

  describe("a bad value is a ConfigError naming its key", () => {
    const bad: ReadonlyArray<readonly [Record<string, string>, string, string]> = [
      [{ REMOTING_PORT: "70000" }, "port", "from 0 to 65535"],
      [{ REMOTING_PORT: "http" }, "PORT", "integer"],
      [{ REMOTING_MAX_BATCH: "0" }, "maxBatch", "must be a positive integer"],
      [{ REMOTING_ASK_TIMEOUT: "0 seconds" }, "askTimeout", "must be positive"],
      [{ REMOTING_SERVER_TLS_CERT_FILE: "/nonexistent/server.pem" }, "certFile", "no such file"],
      [{ REMOTING_TLS_CA_FILE: "/nonexistent/ca.pem" }, "caFile", "/nonexistent/ca.pem"]
    ]
    for (const [entries, key, text] of bad) {
      it.effect(`${JSON.stringify(entries)} names ${key}`, () =>
        Effect.gen(function*() {
          const message = String(yield* Effect.flip(Effect.withConfigProvider(fromEnv, env(entries))))
          expect(message).toContain(key)
          expect(message).toContain(text)
        }))
    }

    it.scoped("TLS sections that cannot work", () =>
      Effect.gen(function*() {
        const pem = yield* files
        const error = (entries: Record<string, string>) =>
          Effect.flip(Effect.withConfigProvider(fromEnv, env(entries))).pipe(Effect.map(String))
        const certOnly = yield* error({ REMOTING_SERVER_TLS_CERT_FILE: pem.serverCert })
        expect(certOnly).toContain("serverTls")
        expect(certOnly).toContain("a server needs certFile and keyFile")
        const noCa = yield* error({
          REMOTING_SERVER_TLS_CERT_FILE: pem.serverCert,
          REMOTING_SERVER_TLS_KEY_FILE: pem.serverKey,
          REMOTING_SERVER_TLS_REQUIRE_CLIENT_CERT: "true"
        })
        expect(noCa).toContain("requireClientCert needs caFile")
        const keyOnly = yield* error({ REMOTING_TLS_KEY_FILE: pem.clientKey })
        expect(keyOnly).toContain("tls")
        expect(keyOnly).toContain("certFile and keyFile go together")
      }))
  })
})
