/**
 * Remoting: actors talking across processes (H1–H4).
 *
 * `Remoting.layer({ host, port, kinds })` puts an `ActorSystem` on the
 * network: it serves the node-to-node protocol (`Protocol.ts`, an
 * `@effect/rpc` group over TCP or TLS with msgpack), gives the system's
 * actors addresses with host and port, and lets them find, message, spawn,
 * watch and stop actors on other nodes through PIDs that behave like local
 * ones. Only the `kinds` listed can be spawned from other nodes.
 *
 * Connections open when there is something to send, are pooled per node
 * (bounded, idle ones closed) and carry length-prefixed frames, one write
 * per event-loop turn; tells are flow-controlled by credit (`maxPending`
 * tells per connection not yet processed by the receiving node: beyond it,
 * tells wait). A tell that was sent but could not be
 * delivered (node down) becomes a deadletter on the sending node; one that
 * reached the node but no actor, a deadletter there.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Option } from "effect"
 * import { ActorSystem, Remoting } from "effect-actors"
 *
 * const Node = Remoting.layer({ host: "127.0.0.1", port: 4000, kinds: [Counter] }).pipe(
 *   Layer.provideMerge(ActorSystem.layer({ name: "shop" }))
 * )
 * const program = Effect.gen(function*() {
 *   const remoting = yield* Remoting.Remoting
 *   const counter = yield* remoting.spawn({ host: "127.0.0.1", port: 4001 }, Counter, "counter")
 *   yield* counter.tell(new Increment({ by: 1 }))
 *   const same = yield* remoting.lookup("effect-actors://other@127.0.0.1:4001/counter", Counter)
 * })
 * ```
 * @since 0.1.0
 */
import type * as SocketServer from "@effect/platform/SocketServer"
import { Clock, Config, ConfigError, Context, Duration, Effect, Either, Layer, type Option, type Scope } from "effect"
import * as Fs from "node:fs"
import type * as Actor from "../Actor.js"
import { ActorSystem } from "../ActorSystem.js"
import type {
  ActorNotFound,
  AskError,
  InvalidArgument,
  KindNotRegistered,
  RemoteError,
  SpawnError
} from "../Errors.js"
import * as Events from "../EventStream.js"
import type { Tagged } from "../Message.js"
import { type Pid, Resolver } from "../Pid.js"
import * as Checks from "../internal/config.js"
import { resolverOf } from "../internal/resolver.js"
import { implOf } from "../internal/system.js"
import * as Server from "./Server.js"
import type * as Transport from "./Transport.js"
import { makePool, type Pool } from "./internal/connection.js"
import { type AnyDefinition, Node } from "./internal/node.js"
import * as Ops from "./internal/ops.js"

export type {
  /**
   * An actor's address: `Address`, its text, or `{ host, port, name }`.
   *
   * @since 0.1.0
   */
  AddressInput,
  /**
   * Client-side settings (TLS, token, batching, flow control, probes).
   *
   * @since 0.1.0
   */
  ClientOptions,
  /**
   * A node: host and port of its remoting.
   *
   * @since 0.1.0
   */
  NodeAddress
} from "./internal/ops.js"
export type {
  /**
   * What `nodeInfo` answers.
   *
   * @since 0.1.0
   */
  NodeInfo
} from "./Protocol.js"
export type {
  /**
   * What a node's server counted (connections, refusals, malformed input).
   *
   * @since 0.1.0
   */
  Stats
} from "./Server.js"
export type {
  /**
   * TLS settings (PEM), with `requireClientCert` for mutual TLS.
   *
   * @since 0.1.0
   */
  TlsOptions
} from "./Transport.js"

/**
 * The server's limits. Every one has a safe default.
 *
 * @since 0.1.0
 * @category models
 */
export interface Limits {
  /** The largest frame read from an authenticated peer (16 MiB). Before authentication: 1 KiB. */
  readonly maxFrameBytes?: number
  /** Bytes waiting to be written to a peer before it is dropped as one that does not read (64 MiB). */
  readonly maxPendingBytes?: number
  /** Connections accepted at once (1,024); more are closed on arrival. */
  readonly maxConnections?: number
  /** A peer must complete its handshake within this (5 seconds). */
  readonly handshakeTimeout?: Duration.DurationInput
  /** A connection without traffic for this long is closed (2 minutes; one carrying watches stays). */
  readonly idleTimeout?: Duration.DurationInput
}

/**
 * Settings of a node's remoting. Everything is optional: by default it
 * listens on 127.0.0.1 on a free port, in plain TCP, without a token.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Ops.ClientOptions {
  /** The interface to listen on (127.0.0.1). */
  readonly host?: string
  /** The port to listen on (0: a free one, read it back from `Remoting.port`). */
  readonly port?: number
  /** The host other nodes reach this one at, in this node's addresses (default: `host`). */
  readonly advertisedHost?: string
  /** The port other nodes reach this one at (default: the port listened on). */
  readonly advertisedPort?: number
  /** The kinds other nodes may spawn here (their handlers must need no service). */
  readonly kinds?: ReadonlyArray<Ops.KindDefinition>
  /**
   * TLS on the server side (`cert`, `key`; `ca` + `requireClientCert` for
   * mutual TLS). `tls` (from `ClientOptions`) is how this node connects to
   * others (`ca`, and `cert`/`key` for mutual TLS). Ignored when a
   * `Transport` layer is provided.
   */
  readonly serverTls?: Transport.TlsOptions
  /** The server's limits. */
  readonly limits?: Limits
}

/**
 * What a node's remoting offers besides location-transparent PIDs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends Ops.NodeOperations {
  /** The host in this node's addresses. */
  readonly host: string
  /** The port in this node's addresses. */
  readonly port: number
  /** Restarts an actor on a node. */
  respawn(address: Ops.AddressInput): Effect.Effect<void, RemoteError | ActorNotFound | AskError | InvalidArgument>
  /** What this node's server counted so far. */
  readonly stats: Effect.Effect<Server.Stats>
  /** Connections this node has open to other nodes now. */
  readonly outbound: Effect.Effect<ReadonlyArray<string>>
}

/**
 * The remoting service of a node.
 *
 * @since 0.1.0
 * @category tags
 */
export class Remoting extends Context.Tag("effect-actors/Remoting")<Remoting, Service>() {}

const limitsOf = (limits: Limits = {}) => ({
  maxFrameBytes: limits.maxFrameBytes ?? 16 * 1024 * 1024,
  maxPendingBytes: limits.maxPendingBytes ?? 64 * 1024 * 1024,
  maxConnections: limits.maxConnections ?? 1024,
  handshakeTimeoutMillis: Duration.toMillis(Duration.decode(limits.handshakeTimeout ?? "5 seconds")),
  idleTimeoutMillis: Duration.toMillis(Duration.decode(limits.idleTimeout ?? "2 minutes"))
})

/**
 * Starts remoting for the `ActorSystem` of the context, in the current scope.
 * Uses the `Transport` of the context when there is one, else TCP (TLS when
 * `serverTls` or `tls` is set).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ActorSystem, Remoting } from "effect-actors"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const remoting = yield* Remoting.make({ port: 0, kinds: [Counter] })
 *   console.log(`listening on ${remoting.host}:${remoting.port}`)
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Options = {}
): Effect.Effect<Service, SocketServer.SocketServerError, ActorSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const system = yield* ActorSystem
    const impl = implOf(system)
    if (impl === undefined) return yield* Effect.dieMessage("Remoting.make: the ActorSystem has no machinery")
    const transport = yield* Ops.transportOf({
      ...(options.serverTls === undefined ? {} : { server: options.serverTls }),
      ...(options.tls === undefined ? {} : { client: options.tls })
    })
    // The pool's fibers must stay interruptible even when built inside `acquireRelease`.
    const runtime = yield* Effect.interruptible(Effect.runtime<never>())
    let node: Node | undefined = undefined
    const settings = Ops.poolSettings({ askTimeout: impl.askTimeoutMillis, ...options }, transport, {
      onUndelivered: (to, message, reason) => {
        impl.cluster?.unreachable(`${to.host}:${to.port}`)
        impl.deadletterCount++
        impl.publish(new Events.Deadletter({ recipient: to, sender: undefined, message, reason }))
      },
      onUnconfirmed: (remote, counts) => impl.publish(new Events.RemoteTellsUnconfirmed({ node: remote, counts })),
      onTerminated: (watcher, address, reason) => node?.remoteTerminated(watcher, address, reason),
      onLost: (remote, reason) => {
        impl.cluster?.unreachable(remote)
        node?.nodeDown(remote, { reason })
      }
    })
    const pool = yield* makePool(settings, impl.name, runtime)
    const kinds = new Map<string, AnyDefinition>()
    for (const definition of options.kinds ?? []) kinds.set(definition.kind, definition as unknown as AnyDefinition)
    node = new Node(impl, pool, kinds, yield* Clock.currentTimeMillis)
    pool.decodeContext = Context.make(Resolver, resolverOf(impl))
    const host = options.host ?? "127.0.0.1"
    const served = yield* Server.serve(node, transport, {
      host,
      port: options.port ?? 0,
      limits: limitsOf(options.limits),
      token: options.token
    })
    impl.host = options.advertisedHost ?? host
    impl.port = options.advertisedPort ?? served.port
    impl.remote = node
    // Runs first: the pool (closed by its own finalizer) drains after the node stops serving.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        impl.remote = undefined
      })
    )
    return makeService(pool, impl.host, impl.port, served.server)
  })

const makeService = (pool: Pool, host: string, port: number, server: Server.Server): Service => ({
  ...Ops.operations(pool),
  host,
  port,
  respawn: (address) => Ops.respawn(pool, address) as never,
  stats: Effect.sync(() => server.stats()),
  outbound: Effect.sync(() => [...pool.connections.keys()])
})

/**
 * Remoting as a layer over the `ActorSystem` of the context.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ActorSystem, Remoting } from "effect-actors"
 * const Live = Remoting.layer({ port: 4000, kinds: [Counter], token: process.env.TOKEN })
 *   .pipe(Layer.provideMerge(ActorSystem.layer({ name: "shop" })))
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Remoting, SocketServer.SocketServerError, ActorSystem> =>
  Layer.scoped(Remoting, make(options))

/**
 * Finds an actor on another node, typed by its definition when given.
 *
 * @example
 * ```ts
 * import { Remoting } from "effect-actors"
 * // const counter = yield* Remoting.lookup({ host: "127.0.0.1", port: 4001, name: "counter" }, Counter)
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const lookup = <M extends Tagged = Tagged, S = unknown, R = unknown>(
  address: Ops.AddressInput,
  definition?: Actor.Definition<M, S, R>
): Effect.Effect<Option.Option<Pid<M>>, RemoteError | InvalidArgument, Remoting> =>
  Effect.flatMap(Remoting, (remoting) => remoting.lookup(address, definition))

/**
 * Spawns an actor of a registered kind on another node.
 *
 * @example
 * ```ts
 * import { Remoting } from "effect-actors"
 * // const pid = yield* Remoting.spawn({ host: "127.0.0.1", port: 4001 }, Counter, "counter")
 * ```
 * @since 0.1.0
 * @category accessors
 */
export const spawn = <M extends Tagged = Tagged, S = unknown, R = unknown>(
  node: Ops.NodeAddress,
  kind: string | Actor.Definition<M, S, R>,
  name: string
): Effect.Effect<Pid<M>, RemoteError | KindNotRegistered | SpawnError, Remoting> =>
  Effect.flatMap(Remoting, (remoting) => remoting.spawn(node, kind, name))

/**
 * The PID of an actor at an address, without asking its node (the first
 * message finds out whether it exists: a missing actor's messages become
 * deadletters there, its asks fail with `ActorNotFound`).
 *
 * @example
 * ```ts
 * import { Remoting } from "effect-actors"
 * // const pid = yield* Remoting.pid("effect-actors://shop@127.0.0.1:4001/counter", Counter)
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const pid = <M extends Tagged = Tagged, S = unknown, R = unknown>(
  address: Ops.AddressInput,
  definition?: Actor.Definition<M, S, R>
): Effect.Effect<Pid<M>, InvalidArgument, ActorSystem> =>
  Effect.flatMap(ActorSystem, (system) =>
    Effect.suspend(() => {
      const node = implOf(system)?.remote
      if (!(node instanceof Node)) return Effect.dieMessage("Remoting.pid: remoting is not enabled on this system")
      return Either.match(
        Ops.pidOf(node.pool, address, definition as unknown as Ops.KindDefinition | undefined),
        { onLeft: Effect.fail, onRight: (pid) => Effect.succeed(pid as unknown as Pid<M>) }
      )
    }))

const fileContents = (name: string): Config.Config<Buffer> =>
  Config.nested(Config.mapAttempt(Config.string(), (path) => Fs.readFileSync(path)), name)

const portNumber: Checks.Check<number> = (port) =>
  Number.isInteger(port) && port >= 0 && port <= 65535 ? undefined : "must be an integer from 0 to 65535"

const tlsFiles = Checks.optional({
  certFile: fileContents("certFile"),
  keyFile: fileContents("keyFile"),
  caFile: fileContents("caFile")
})

/** A TLS section: PEM files and `extra` settings, left out when none of its keys is set. */
const tlsSection = (
  name: string,
  extra: Config.Config<Pick<Transport.TlsOptions, "requireClientCert" | "serverName">>,
  check: (tls: Transport.TlsOptions) => string | undefined
): Config.Config<Transport.TlsOptions | undefined> =>
  Config.nested(
    Config.mapOrFail(Config.all([tlsFiles, extra]), ([{ caFile, certFile, keyFile }, settings]) => {
      const tls: Transport.TlsOptions = {
        ...(certFile === undefined ? {} : { cert: certFile }),
        ...(keyFile === undefined ? {} : { key: keyFile }),
        ...(caFile === undefined ? {} : { ca: caFile }),
        ...settings
      }
      if (Object.keys(tls).length === 0) return Either.right(undefined)
      const problem = check(tls)
      return problem === undefined ? Either.right(tls) : Either.left(ConfigError.InvalidData([], problem))
    }),
    name
  )

/**
 * A node's remoting options read from `Config`, one key per option: `host`,
 * `port` (0: a free one), `advertisedHost`, `advertisedPort`, `token`,
 * `maxBatch`, `maxPending`, `backpressure` (`wait` or `fail`),
 * `maxConnections`, `idleTimeout`, `connectTimeout`, `maxFrameBytes`,
 * `askTimeout`, `probeInterval`, `probeTimeout`; under `limits` (the
 * server's): `maxFrameBytes`, `maxPendingBytes`, `maxConnections`,
 * `handshakeTimeout`, `idleTimeout`; under `serverTls` (this
 * node's server): `certFile`, `keyFile`, `caFile`, `requireClientCert`;
 * under `tls` (how this node connects to others): `caFile`, `certFile`,
 * `keyFile`, `serverName`. The TLS files are PEM files, read when the config
 * is. A wrong value (or a missing file) fails with a `ConfigError` naming
 * its key. `kinds` is code: add it with `Config.map`.
 *
 * @example
 * ```ts
 * import { Config, ConfigProvider, Layer } from "effect"
 * import { ActorSystem, Remoting } from "effect-actors"
 *
 * // REMOTING_HOST=10.0.0.5 REMOTING_PORT=4000 REMOTING_TOKEN=... REMOTING_SERVER_TLS_CERT_FILE=/etc/node.pem ...
 * const RemotingLive = Remoting.layerConfig(
 *   Config.nested(Remoting.config, "remoting").pipe(Config.map((options) => ({ ...options, kinds: [Counter] })))
 * ).pipe(Layer.provideMerge(ActorSystem.layerConfig(Config.nested(ActorSystem.config, "actors"))))
 * ```
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<Options> = Config.map(
  Config.all({
    settings: Checks.optional({
      host: Config.nonEmptyString("host"),
      port: Checks.checked(Config.integer("port"), portNumber),
      token: Config.nonEmptyString("token"),
      advertisedHost: Config.nonEmptyString("advertisedHost"),
      advertisedPort: Checks.checked(Config.integer("advertisedPort"), portNumber),
      maxBatch: Checks.checked(Config.integer("maxBatch"), Checks.positiveInteger),
      maxPending: Checks.checked(Config.integer("maxPending"), Checks.positiveInteger),
      backpressure: Config.literal("wait", "fail")("backpressure"),
      maxConnections: Checks.checked(Config.integer("maxConnections"), Checks.positiveInteger),
      idleTimeout: Checks.checked(Config.duration("idleTimeout"), Checks.positiveDuration),
      connectTimeout: Checks.checked(Config.duration("connectTimeout"), Checks.positiveDuration),
      maxFrameBytes: Checks.checked(Config.integer("maxFrameBytes"), Checks.positiveInteger),
      askTimeout: Checks.checked(Config.duration("askTimeout"), Checks.positiveDuration),
      probeInterval: Checks.checked(Config.duration("probeInterval"), Checks.positiveDuration),
      probeTimeout: Checks.checked(Config.duration("probeTimeout"), Checks.positiveDuration)
    }),
    limits: Config.nested(
      Checks.optional({
        maxFrameBytes: Checks.checked(Config.integer("maxFrameBytes"), Checks.positiveInteger),
        maxPendingBytes: Checks.checked(Config.integer("maxPendingBytes"), Checks.positiveInteger),
        maxConnections: Checks.checked(Config.integer("maxConnections"), Checks.positiveInteger),
        handshakeTimeout: Checks.checked(Config.duration("handshakeTimeout"), Checks.positiveDuration),
        idleTimeout: Checks.checked(Config.duration("idleTimeout"), Checks.positiveDuration)
      }),
      "limits"
    ),
    serverTls: tlsSection(
      "serverTls",
      Checks.optional({ requireClientCert: Config.boolean("requireClientCert") }),
      (tls) =>
        tls.cert === undefined || tls.key === undefined
          ? "a server needs certFile and keyFile"
          : tls.requireClientCert === true && tls.ca === undefined
          ? "requireClientCert needs caFile (the authority that signs the clients)"
          : undefined
    ),
    tls: tlsSection(
      "tls",
      Checks.optional({ serverName: Config.nonEmptyString("serverName") }),
      (tls) => (tls.cert === undefined) !== (tls.key === undefined) ? "certFile and keyFile go together" : undefined
    )
  }),
  ({ limits, serverTls, settings, tls }): Options => ({
    ...settings,
    ...(Object.keys(limits).length === 0 ? {} : { limits }),
    ...(serverTls === undefined ? {} : { serverTls }),
    ...(tls === undefined ? {} : { tls })
  })
)

/**
 * Remoting as a layer whose options come from `Config` (by default
 * {@link config}, at the top level of the `ConfigProvider`).
 *
 * @example
 * ```ts
 * import { Config } from "effect"
 * import { Remoting } from "effect-actors"
 * const Live = Remoting.layerConfig({
 *   port: Config.integer("PORT"),
 *   token: Config.string("NODE_TOKEN"),
 *   kinds: Config.succeed([Counter])
 * })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  options: Config.Config.Wrap<Options> = config
): Layer.Layer<Remoting, ConfigError.ConfigError | SocketServer.SocketServerError, ActorSystem> =>
  Layer.unwrapEffect(Effect.map(Config.unwrap(options), layer))
