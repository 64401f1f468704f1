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
 * Connections are pooled per node and reconnect on a `Schedule`; tells are
 * batched on the wire with a bounded outbox (`maxPending`: when it is full,
 * tells wait for room, they are never dropped) and at most `maxInFlight`
 * unanswered batches per connection. A tell that was sent but could not be
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
import { Config, ConfigError, Context, Effect, Either, Layer, type Option, type Scope } from "effect"
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
import type { NodeInfo } from "./Protocol.js"
import * as Server from "./Server.js"
import * as Transport from "./Transport.js"
import { Pool } from "./internal/connection.js"
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
   * TLS settings (PEM), with `requireClientCert` for mutual TLS.
   *
   * @since 0.1.0
   */
  TlsOptions
} from "./Transport.js"

/**
 * Settings of a node's remoting. Everything is optional: by default it
 * listens on 127.0.0.1 on a free port, in plain TCP, without a token.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Ops.ClientOptions {
  /** The interface to listen on, also the host in this node's addresses (127.0.0.1). */
  readonly host?: string
  /** The port (0: a free one, read it back from `Remoting.port`). */
  readonly port?: number
  /** The kinds other nodes may spawn here (their handlers must need no service). */
  readonly kinds?: ReadonlyArray<Ops.KindDefinition>
  /**
   * TLS on the server side (`cert`, `key`; `ca` + `requireClientCert` for
   * mutual TLS). `tls` (from `ClientOptions`) is how this node connects to
   * others (`ca`, and `cert`/`key` for mutual TLS).
   */
  readonly serverTls?: Transport.TlsOptions
}

/**
 * What a node's remoting offers besides location-transparent PIDs.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** The host in this node's addresses. */
  readonly host: string
  /** The port this node listens on. */
  readonly port: number
  /**
   * Finds an actor on a node. With its definition the PID is typed by the
   * protocol (and an unknown tag is refused before sending).
   * A missing name is `Option.none()`.
   */
  lookup<M extends Tagged = Tagged, S = unknown, R = unknown>(
    address: Ops.AddressInput,
    definition?: Actor.Definition<M, S, R>
  ): Effect.Effect<Option.Option<Pid<M>>, RemoteError | InvalidArgument>
  /** Spawns an actor of a registered kind on a node. */
  spawn<M extends Tagged = Tagged, S = unknown, R = unknown>(
    node: Ops.NodeAddress,
    kind: string | Actor.Definition<M, S, R>,
    name: string
  ): Effect.Effect<Pid<M>, RemoteError | KindNotRegistered | SpawnError>
  /** Restarts an actor on a node. */
  respawn(address: Ops.AddressInput): Effect.Effect<void, RemoteError | ActorNotFound | AskError | InvalidArgument>
  /** Stops an actor on a node gracefully and waits for it. */
  stop(address: Ops.AddressInput): Effect.Effect<void, RemoteError | ActorNotFound | InvalidArgument>
  /** A node's identity, actor count and registered kinds. */
  nodeInfo(node: Ops.NodeAddress): Effect.Effect<NodeInfo, RemoteError>
}

/**
 * The remoting service of a node.
 *
 * @since 0.1.0
 * @category tags
 */
export class Remoting extends Context.Tag("effect-actors/Remoting")<Remoting, Service>() {}

/**
 * Starts remoting for the `ActorSystem` of the context, in the current scope.
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
    const host = options.host ?? "127.0.0.1"
    const server = yield* Transport.makeServer({ host, port: options.port ?? 0, tls: options.serverTls })
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    impl.host = host
    impl.port = port
    // The pool's fibers must stay interruptible even when built inside `acquireRelease`.
    const runtime = yield* Effect.interruptible(Effect.runtime<never>())
    const settings = Ops.poolSettings(
      { askTimeout: impl.askTimeoutMillis, ...options },
      (to, message, reason) => {
        impl.deadletterCount++
        impl.publish(new Events.Deadletter({ recipient: to, sender: undefined, message, reason }))
      }
    )
    const pool = new Pool(settings, runtime, impl.name, yield* Effect.clock)
    const kinds = new Map<string, AnyDefinition>()
    for (const definition of options.kinds ?? []) kinds.set(definition.kind, definition as unknown as AnyDefinition)
    const node = new Node(impl, pool, kinds)
    pool.decodeContext = Context.make(Resolver, resolverOf(impl))
    impl.remote = node
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        impl.remote = undefined
        return pool.close()
      })
    )
    const scope = yield* Effect.scope
    yield* Layer.buildWithScope(Server.layer(node, server, options.token), scope)
    return makeService(pool, host, port)
  })

const makeService = (pool: Pool, host: string, port: number): Service => ({
  host,
  port,
  lookup: (address, definition) =>
    Ops.lookup(pool, address, definition as unknown as Ops.KindDefinition | undefined) as never,
  spawn: (node, kind, name) => Ops.spawn(pool, node, kind as string | Ops.KindDefinition, name) as never,
  respawn: (address) => Ops.respawn(pool, address) as never,
  stop: (address) => Ops.stop(pool, address, false) as never,
  nodeInfo: (node) => Ops.nodeInfo(pool, node)
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
 * `port` (0: a free one), `token`, `maxBatch`, `maxInFlight`, `maxPending`,
 * `askTimeout`, `probeInterval`, `probeTimeout`; under `serverTls` (this
 * node's server): `certFile`, `keyFile`, `caFile`, `requireClientCert`;
 * under `tls` (how this node connects to others): `caFile`, `certFile`,
 * `keyFile`, `serverName`. The TLS files are PEM files, read when the config
 * is. A wrong value (or a missing file) fails with a `ConfigError` naming
 * its key. `kinds` and `reconnect` are code: add them with `Config.map`.
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
      maxBatch: Checks.checked(Config.integer("maxBatch"), Checks.positiveInteger),
      maxInFlight: Checks.checked(Config.integer("maxInFlight"), Checks.positiveInteger),
      maxPending: Checks.checked(Config.integer("maxPending"), Checks.positiveInteger),
      askTimeout: Checks.checked(Config.duration("askTimeout"), Checks.positiveDuration),
      probeInterval: Checks.checked(Config.duration("probeInterval"), Checks.positiveDuration),
      probeTimeout: Checks.checked(Config.duration("probeTimeout"), Checks.positiveDuration)
    }),
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
  ({ serverTls, settings, tls }): Options => ({
    ...settings,
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
