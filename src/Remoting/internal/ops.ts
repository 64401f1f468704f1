/**
 * Remote operations by address, shared by the `Remoting` service (a node)
 * and `RemoteClient` (no actor system).
 *
 * @internal
 */
import { Duration, Effect, Either, Option } from "effect"
import type * as Actor from "../../Actor.js"
import { Address, parse as parseAddress } from "../../Address.js"
import type { ActorNotFound, KindNotRegistered, SpawnError } from "../../Errors.js"
import { InvalidArgument, type RemoteError } from "../../Errors.js"
import type { Tagged } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import * as Protocol from "../Protocol.js"
import * as Transport from "../Transport.js"
import type { Pool, PoolSettings } from "./connection.js"
import { lookupRemote } from "./node.js"

/** An actor's address: parsed, as text, or as its node and name. */
export type AddressInput =
  | Address
  | string
  | { readonly host: string; readonly port: number; readonly name: string }

/** What remoting needs of a definition: its kind, protocol and tags (any state type). */
export type KindDefinition = Pick<Actor.Definition<Tagged, unknown, never>, typeof Actor.TypeId | "kind" | "protocol" | "tags">

/** A node: where its remoting listens (or is reached). */
export interface NodeAddress {
  readonly host: string
  readonly port: number
}

/** Settings of the client side, common to a node and a `RemoteClient`. */
export interface ClientOptions {
  /** How to connect over TLS (`ca`; `cert` + `key` for mutual TLS). Ignored when a `Transport` layer is given. */
  readonly tls?: Transport.TlsOptions
  /** The shared token sent in the handshake. */
  readonly token?: string
  /** Tells per frame at most (4,096). */
  readonly maxBatch?: number
  /**
   * The credit window: tells per connection that the receiving node has not
   * yet processed (32,768). It bounds memory on both sides and what a node's
   * death can lose.
   */
  readonly maxPending?: number
  /** Without credit, a tell waits (`"wait"`, the default) or fails with `MailboxFull` (`"fail"`). */
  readonly backpressure?: "wait" | "fail"
  /** Connections this node keeps open to other nodes at most (256); idle ones are evicted first. */
  readonly maxConnections?: number
  /** A connection with nothing to do for this long is closed (1 minute). */
  readonly idleTimeout?: Duration.DurationInput
  /** Connect and handshake must finish within this (5 seconds). */
  readonly connectTimeout?: Duration.DurationInput
  /** The largest frame read from a node (16 MiB). */
  readonly maxFrameBytes?: number
  readonly askTimeout?: Duration.DurationInput
  readonly probeInterval?: Duration.DurationInput
  readonly probeTimeout?: Duration.DurationInput
}

const millis = (input: Duration.DurationInput) => Duration.toMillis(Duration.decode(input))

export const poolSettings = (
  options: ClientOptions,
  transport: Transport.Service,
  hooks: Pick<PoolSettings, "onUndelivered" | "onUnconfirmed" | "onTerminated" | "onLost">
): PoolSettings => ({
  transport,
  token: options.token,
  window: options.maxPending ?? 32_768,
  maxBatch: options.maxBatch ?? 4096,
  backpressure: options.backpressure ?? "wait",
  maxFrameBytes: options.maxFrameBytes ?? 16 * 1024 * 1024,
  maxConnections: options.maxConnections ?? 256,
  idleTimeoutMillis: millis(options.idleTimeout ?? "1 minute"),
  connectTimeoutMillis: millis(options.connectTimeout ?? "5 seconds"),
  askTimeoutMillis: millis(options.askTimeout ?? "5 seconds"),
  graceMillis: 2000,
  probeInterval: Duration.decode(options.probeInterval ?? "1 second"),
  probeTimeout: Duration.decode(options.probeTimeout ?? "2 seconds"),
  ...hooks
})

/** The transport of the context, or TCP / TLS from the options. */
export const transportOf = (tls: { readonly server?: Transport.TlsOptions; readonly client?: Transport.TlsOptions }) =>
  Effect.map(
    Effect.serviceOption(Transport.Transport),
    Option.getOrElse(() =>
      tls.server === undefined && tls.client === undefined ? Transport.makeTcp() : Transport.makeTls(tls)
    )
  )

export const toAddress = (input: AddressInput): Either.Either<Address, InvalidArgument> => {
  if (input instanceof Address) {
    return input.host === ""
      ? Either.left(new InvalidArgument({ reason: `${input.toString()} has no host: not a remote address` }))
      : Either.right(input)
  }
  if (typeof input === "string") {
    const parsed = parseAddress(input)
    return parsed === undefined || parsed.host === ""
      ? Either.left(new InvalidArgument({ reason: `${input} is not a remote actor address` }))
      : Either.right(parsed)
  }
  return Either.right(new Address({ system: "", host: input.host, port: input.port, path: input.name.split("/") }))
}

const path = (address: Address) => address.path.join("/")

export const lookup = (
  pool: Pool,
  input: AddressInput,
  definition: KindDefinition | undefined
): Effect.Effect<Option.Option<Pid.Pid>, RemoteError | InvalidArgument> =>
  Either.match(toAddress(input), {
    onLeft: Effect.fail,
    onRight: (address) => lookupRemote(pool, address.host, address.port, path(address), definition?.tags)
  })

export const spawn = (
  pool: Pool,
  node: NodeAddress,
  kind: string | KindDefinition,
  name: string
): Effect.Effect<Pid.Pid, unknown> => {
  const kindName = typeof kind === "string" ? kind : kind.kind
  return Effect.suspend(() => pool.connection(node.host, node.port).control(new Protocol.Spawn({ kind: kindName, name })))
    .pipe(
      Effect.map((text) => {
        const address = parseAddress(text) ??
          new Address({ system: "", host: node.host, port: node.port, path: name.split("/") })
        return pool.pid(address, typeof kind === "string" ? undefined : kind.tags) as unknown as Pid.Pid
      })
    )
}

const byAddress = <A>(
  input: AddressInput,
  f: (address: Address) => Effect.Effect<A, unknown>
): Effect.Effect<A, unknown> => Either.match(toAddress(input), { onLeft: Effect.fail, onRight: (a) => Effect.suspend(() => f(a)) })

export const stop = (pool: Pool, input: AddressInput, kill: boolean): Effect.Effect<void, unknown> =>
  byAddress(input, (address) =>
    pool.connection(address.host, address.port).control(new Protocol.Stop({ name: pool.pid(address).path, kill })))

export const respawn = (pool: Pool, input: AddressInput): Effect.Effect<void, unknown> =>
  byAddress(input, (address) =>
    pool.connection(address.host, address.port).control(new Protocol.Respawn({ name: pool.pid(address).path })))

export const nodeInfo = (pool: Pool, node: NodeAddress): Effect.Effect<Protocol.NodeInfo, RemoteError> =>
  Effect.suspend(() => pool.connection(node.host, node.port).control(new Protocol.GetNodeInfo())) as Effect.Effect<
    Protocol.NodeInfo,
    RemoteError
  >

export const pidOf = (
  pool: Pool,
  input: AddressInput,
  definition: KindDefinition | undefined
): Either.Either<Pid.Pid, InvalidArgument> =>
  Either.map(toAddress(input), (address) => pool.pid(address, definition?.tags) as unknown as Pid.Pid)

/** The operations by address that a node's `Remoting` and a `RemoteClient` both offer. */
export interface NodeOperations {
  /**
   * Finds an actor on a node. With its definition the PID is typed by the
   * protocol (and an unknown tag is refused before sending).
   * A missing name is `Option.none()`.
   */
  lookup<M extends Tagged = Tagged, S = unknown, R = unknown>(
    address: AddressInput,
    definition?: Actor.Definition<M, S, R>
  ): Effect.Effect<Option.Option<Pid.Pid<M>>, RemoteError | InvalidArgument>
  /** Spawns an actor of a kind registered on the node. */
  spawn<M extends Tagged = Tagged, S = unknown, R = unknown>(
    node: NodeAddress,
    kind: string | Actor.Definition<M, S, R>,
    name: string
  ): Effect.Effect<Pid.Pid<M>, RemoteError | KindNotRegistered | SpawnError>
  /** Stops an actor on a node gracefully and waits for it. */
  stop(address: AddressInput): Effect.Effect<void, RemoteError | ActorNotFound | InvalidArgument>
  /** A node's identity, actor count and registered kinds. */
  nodeInfo(node: NodeAddress): Effect.Effect<Protocol.NodeInfo, RemoteError>
}

/** `NodeOperations` over a pool. */
export const operations = (pool: Pool): NodeOperations => ({
  lookup: (address, definition) => lookup(pool, address, definition as unknown as KindDefinition | undefined) as never,
  spawn: (node, kind, name) => spawn(pool, node, kind as string | KindDefinition, name) as never,
  stop: (address) => stop(pool, address, false) as never,
  nodeInfo: (node) => nodeInfo(pool, node)
})
