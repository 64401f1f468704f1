/**
 * Remote operations by address, shared by the `Remoting` service (a node)
 * and `RemoteClient` (no actor system).
 *
 * @internal
 */
import { Duration, Effect, Either, Option, Schedule } from "effect"
import type * as Actor from "../../Actor.js"
import { Address, parse as parseAddress } from "../../Address.js"
import { InvalidArgument, type RemoteError } from "../../Errors.js"
import type { Tagged } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import type { NodeInfo } from "../Protocol.js"
import type { TlsOptions } from "../Transport.js"
import { callError, defaultReconnect, type Pool, type PoolSettings } from "./connection.js"
import { lookupRemote } from "./node.js"

/** An actor's address: parsed, as text, or as its node and name. */
export type AddressInput =
  | Address
  | string
  | { readonly host: string; readonly port: number; readonly name: string }

/** What remoting needs of a definition: its kind, protocol and tags (any state type). */
export type KindDefinition = Pick<Actor.Definition<Tagged, unknown, never>, typeof Actor.TypeId | "kind" | "protocol" | "tags">

/** A node: where its remoting listens. */
export interface NodeAddress {
  readonly host: string
  readonly port: number
}

/** Settings of the client side, common to a node and a `RemoteClient`. */
export interface ClientOptions {
  readonly tls?: TlsOptions
  readonly token?: string
  readonly reconnect?: Schedule.Schedule<unknown, unknown>
  readonly maxBatch?: number
  readonly maxInFlight?: number
  readonly maxPending?: number
  readonly askTimeout?: Duration.DurationInput
  readonly probeInterval?: Duration.DurationInput
  readonly probeTimeout?: Duration.DurationInput
}

export const poolSettings = (
  options: ClientOptions,
  onUndelivered: PoolSettings["onUndelivered"]
): PoolSettings => ({
  tls: options.tls,
  token: options.token,
  reconnect: options.reconnect ?? defaultReconnect,
  maxBatch: options.maxBatch ?? 4096,
  maxInFlight: options.maxInFlight ?? 4,
  maxPending: options.maxPending ?? 65_536,
  askTimeoutMillis: Duration.toMillis(Duration.decode(options.askTimeout ?? "5 seconds")),
  graceMillis: 2000,
  probeInterval: Duration.decode(options.probeInterval ?? "1 second"),
  probeTimeout: Duration.decode(options.probeTimeout ?? "2 seconds"),
  onUndelivered
})

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
  const connection = pool.connection(node.host, node.port)
  const kindName = typeof kind === "string" ? kind : kind.kind
  return connection.call((client) => client.Spawn({ kind: kindName, name }, { headers: connection.headers })).pipe(
    Effect.mapError(callError(connection.node)),
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
): Effect.Effect<A, unknown> => Either.match(toAddress(input), { onLeft: Effect.fail, onRight: f })

export const stop = (pool: Pool, input: AddressInput, kill: boolean): Effect.Effect<void, unknown> =>
  byAddress(input, (address) => {
    const connection = pool.connection(address.host, address.port)
    return connection.ordered((client) => client.Stop({ name: path(address), kill }, { headers: connection.headers }))
      .pipe(Effect.mapError(callError(connection.node)))
  })

export const respawn = (pool: Pool, input: AddressInput): Effect.Effect<void, unknown> =>
  byAddress(input, (address) => {
    const connection = pool.connection(address.host, address.port)
    return connection.ordered((client) => client.Respawn({ name: path(address) }, { headers: connection.headers }))
      .pipe(Effect.mapError(callError(connection.node)))
  })

export const nodeInfo = (pool: Pool, node: NodeAddress): Effect.Effect<NodeInfo, RemoteError> => {
  const connection = pool.connection(node.host, node.port)
  return connection.call((client) => client.NodeInfo(undefined, { headers: connection.headers })).pipe(
    Effect.mapError((error) => callError(connection.node)(error) as RemoteError)
  )
}

export const pidOf = (
  pool: Pool,
  input: AddressInput,
  definition: KindDefinition | undefined
): Either.Either<Pid.Pid, InvalidArgument> =>
  Either.map(toAddress(input), (address) => pool.pid(address, definition?.tags) as unknown as Pid.Pid)
