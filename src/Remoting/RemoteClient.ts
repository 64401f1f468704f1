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
import { Context, Effect, Either, Layer, Runtime, type Schema, type Scope } from "effect"
import type { ActorNotFound, AskError, InvalidArgument, TellError, UnknownMessage } from "../Errors.js"
import type { FailureOf, ReplyOf, Tagged } from "../Message.js"
import type { AskOptions } from "../Pid.js"
import { makePool, type Pool } from "./internal/connection.js"
import * as Ops from "./internal/ops.js"

/**
 * What the client offers.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service extends Ops.NodeOperations {
  /** Sends a message to an actor on a node (batched with other tells to that node). */
  tell<M extends Tagged>(address: Ops.AddressInput, message: M): Effect.Effect<void, TellError | UnknownMessage | InvalidArgument>
  /** Asks an actor on a node; the reply and the failure are typed by the request. */
  ask<Q extends Tagged & Schema.WithResult.All>(
    address: Ops.AddressInput,
    message: Q,
    options?: AskOptions
  ): Effect.Effect<ReplyOf<Q>, FailureOf<Q> | AskError | UnknownMessage | ActorNotFound>
}

/**
 * The remote client service.
 *
 * @since 0.1.0
 * @category tags
 */
export class RemoteClient extends Context.Tag("effect-actors/RemoteClient")<RemoteClient, Service>() {}

/**
 * A connection pool for a process without an actor system, closed with the
 * scope; undeliverable tells are logged (there is no event stream).
 *
 * @internal
 */
export const clientPool = (options: Ops.ClientOptions): Effect.Effect<Pool, never, Scope.Scope> =>
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
    return yield* makePool(settings, "", runtime)
  })

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
    const pool = yield* clientPool(options)
    const pidOf = (address: Ops.AddressInput) => Ops.pidOf(pool, address, undefined)
    const service: Service = {
      ...Ops.operations(pool),
      tell: (address, message) =>
        Either.match(pidOf(address), { onLeft: Effect.fail, onRight: (pid) => pid.tell(message) }),
      ask: (address, message, askOptions) =>
        Either.match(pidOf(address), {
          onLeft: Effect.fail,
          onRight: (pid) => pid.ask(message as never, askOptions)
        }) as never
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
