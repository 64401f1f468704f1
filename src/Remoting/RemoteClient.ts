/**
 * A client of actor nodes for Effect services that run no actor system:
 * tell, ask, lookup, spawn and stop actors on a node, with the same typed
 * errors as the PIDs of a node. It shares the node's connection pool,
 * batching, flow control, TLS and token settings (`Remoting.ClientOptions`).
 * Messages it sends carry no sender.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RemoteClient } from "effect-actors"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* RemoteClient.RemoteClient
 *   const counter = { host: "127.0.0.1", port: 4000, name: "counter" }
 *   yield* client.tell(counter, new Increment({ by: 1 }))
 *   const n = yield* client.ask(counter, new GetCount())
 * }).pipe(Effect.provide(RemoteClient.layer({ token: "secret" })))
 * ```
 * @since 0.1.0
 */
import { Context, Effect, Either, Layer, type Option, Runtime, type Schema, type Scope } from "effect"
import type * as Actor from "../Actor.js"
import type {
  ActorNotFound,
  AskError,
  InvalidArgument,
  KindNotRegistered,
  RemoteError,
  SpawnError,
  TellError,
  UnknownMessage
} from "../Errors.js"
import type { FailureOf, ReplyOf, Tagged } from "../Message.js"
import type { AskOptions, Pid } from "../Pid.js"
import type { NodeInfo } from "./Protocol.js"
import { makePool } from "./internal/connection.js"
import * as Ops from "./internal/ops.js"

/**
 * What the client offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** Sends a message to an actor on a node (batched with other tells to that node). */
  tell<M extends Tagged>(address: Ops.AddressInput, message: M): Effect.Effect<void, TellError | UnknownMessage | InvalidArgument>
  /** Asks an actor on a node; the reply and the failure are typed by the request. */
  ask<Q extends Tagged & Schema.WithResult.All>(
    address: Ops.AddressInput,
    message: Q,
    options?: AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage | ActorNotFound>
  /** Finds an actor (`Option.none()` when the name is free). */
  lookup<M extends Tagged = Tagged, S = unknown, R = unknown>(
    address: Ops.AddressInput,
    definition?: Actor.Definition<M, S, R>
  ): Effect.Effect<Option.Option<Pid<M>>, RemoteError | InvalidArgument>
  /** Spawns an actor of a kind registered on the node. */
  spawn<M extends Tagged = Tagged, S = unknown, R = unknown>(
    node: Ops.NodeAddress,
    kind: string | Actor.Definition<M, S, R>,
    name: string
  ): Effect.Effect<Pid<M>, RemoteError | KindNotRegistered | SpawnError>
  /** Stops an actor gracefully and waits for it. */
  stop(address: Ops.AddressInput): Effect.Effect<void, RemoteError | ActorNotFound | InvalidArgument>
  /** A node's identity, actor count and registered kinds. */
  nodeInfo(node: Ops.NodeAddress): Effect.Effect<NodeInfo, RemoteError>
}

/**
 * The remote client service.
 *
 * @since 0.1.0
 * @category tags
 */
export class RemoteClient extends Context.Tag("effect-actors/RemoteClient")<RemoteClient, Service>() {}

/**
 * Builds a client in the current scope (closing it closes the connections).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RemoteClient } from "effect-actors"
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const client = yield* RemoteClient.make({ askTimeout: "2 seconds" })
 *   yield* client.nodeInfo({ host: "127.0.0.1", port: 4000 })
 * }))
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Ops.ClientOptions = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    // The pool's fibers must stay interruptible even when built inside `acquireRelease`.
    const runtime = yield* Effect.interruptible(Effect.runtime<never>())
    const transport = yield* Ops.transportOf(options.tls === undefined ? {} : { client: options.tls })
    // No system here to publish events on: log them.
    const log = (text: string) => Runtime.runFork(runtime)(Effect.logWarning(text))
    const settings = Ops.poolSettings(options, transport, {
      onUndelivered: (to, _message, reason) => log(`deadletter to ${to.toString()}: ${reason}`),
      onUnconfirmed: (node, counts) =>
        log(`connection to ${node} lost with tells unconfirmed: ${counts.map((c) => `${c.target}: ${c.count}`).join(", ")}`),
      onTerminated: () => {},
      onLost: () => {}
    })
    const pool = yield* makePool(settings, "", runtime)
    const pidOf = (address: Ops.AddressInput) => Ops.pidOf(pool, address, undefined)
    const service: Service = {
      tell: (address, message) =>
        Either.match(pidOf(address), { onLeft: Effect.fail, onRight: (pid) => pid.tell(message) }),
      ask: (address, message, askOptions) =>
        Either.match(pidOf(address), {
          onLeft: Effect.fail,
          onRight: (pid) => pid.ask(message as never, askOptions)
        }) as never,
      lookup: (address, definition) =>
        Ops.lookup(pool, address, definition as unknown as Ops.KindDefinition | undefined) as never,
      spawn: (node, kind, name) => Ops.spawn(pool, node, kind as string | Ops.KindDefinition, name) as never,
      stop: (address) => Ops.stop(pool, address, false) as never,
      nodeInfo: (node) => Ops.nodeInfo(pool, node)
    }
    return service
  })

/**
 * The client as a layer.
 *
 * @example
 * ```ts
 * import { RemoteClient } from "effect-actors"
 * const ClientLive = RemoteClient.layer({ token: "secret", tls: { ca: caPem } })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Ops.ClientOptions = {}): Layer.Layer<RemoteClient> =>
  Layer.scoped(RemoteClient, make(options))
