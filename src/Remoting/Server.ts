/**
 * The server side of remoting: the handlers of `RemotingRpcs` over a
 * system, served by `@effect/rpc`'s socket server.
 *
 * Every handler turns bad input into a typed `ActorError` (never a defect, so
 * one bad call cannot fail the other calls of its connection), and every
 * message that reached this node but no actor becomes a deadletter here.
 * `Deliver` runs synchronously, so batches are handled in arrival order.
 *
 * @example
 * ```ts
 * // Used by Remoting.layer; not needed directly.
 * ```
 * @since 0.1.0
 */
import type { Headers } from "@effect/platform"
import * as SocketServer from "@effect/platform/SocketServer"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Either, Exit, Layer } from "effect"
import { timingSafeEqual } from "node:crypto"
import {
  type ActorError,
  ActorNotFound,
  DecodeError,
  InvalidArgument,
  isActorError,
  KindNotRegistered,
  Unauthorized
} from "../Errors.js"
import type { Tagged } from "../Message.js"
import type * as Pid from "../Pid.js"
import { AskHandle } from "../internal/envelope.js"
import * as Codec from "./Codec.js"
import { RemotingRpcs, TokenAuth, tokenHeader } from "./Protocol.js"
import type { Node } from "./internal/node.js"

const wire = (error: unknown): ActorError =>
  isActorError(error) ? error : new DecodeError({ address: "", messageTag: "", reason: String(error) })

const sameToken = (expected: Buffer, given: string | undefined): boolean => {
  if (given === undefined) return false
  const actual = Buffer.from(given)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/**
 * The token check: every call must carry `x-effect-actors-token` equal to
 * `token`; with no token, every call passes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTokenAuth = (node: () => string, token: string | undefined): Layer.Layer<TokenAuth> => {
  if (token === undefined) return Layer.succeed(TokenAuth, () => Effect.void)
  const expected = Buffer.from(token)
  return Layer.succeed(TokenAuth, ({ headers }: { readonly headers: Headers.Headers }) =>
    sameToken(expected, headers[tokenHeader])
      ? Effect.void
      : Effect.fail(new Unauthorized({ node: node(), reason: "missing or wrong token" })))
}

const handlers = (node: Node) => {
  const impl = node.impl
  const senderOf = (from: string): Pid.Pid<never> | undefined => {
    if (from === "") return undefined
    return node.pool.pidOf(from) as unknown as Pid.Pid<never> | undefined
  }
  // A target is `path` or `system@path`; another system's name means the
  // sender's address is stale (another node now listens here): not found.
  const resolve = (target: string) => node.resolve(target)
  const notFoundReason = (target: string) => {
    const at = target.indexOf("@")
    return at >= 0 && target.slice(0, at) !== impl.name
      ? `wrong target node: ${node.node} runs system ${impl.name}`
      : "actor not found"
  }
  const found = (name: string) =>
    Effect.suspend(() => {
      const cell = resolve(name)
      return cell === undefined ? Effect.fail(wire(new ActorNotFound({ actorName: name }))) : Effect.succeed(cell)
    })
  return RemotingRpcs.of({
    Deliver: ({ batch }) =>
      Effect.suspend(() => {
        const entries = Codec.decodeBatch(batch)
        if (Either.isLeft(entries)) {
          node.deadletter("", batch, "", entries.left)
          return Effect.fail(wire(new DecodeError({ address: node.node, messageTag: "", reason: entries.left })))
        }
        for (const entry of entries.right) {
          const cell = resolve(entry.to)
          if (cell === undefined) {
            const reason = notFoundReason(entry.to)
            for (const message of entry.messages) node.deadletter(entry.to, message, entry.from, reason)
            continue
          }
          const sender = senderOf(entry.from)
          const protocol = cell.def.protocol
          for (const encoded of entry.messages) {
            const message = Codec.decodeMessage(protocol, encoded, node.pool.decodeContext)
            if (Either.isLeft(message)) node.deadletter(entry.to, encoded, entry.from, message.left)
            // A refusal (stopped, mailbox full) is published as a deadletter by `send`.
            else cell.send(message.right, sender, undefined)
          }
        }
        return Effect.void
      }),
    Ask: ({ from, message: encoded, timeoutMillis, to }) =>
      Effect.suspend(() => {
        if (!(timeoutMillis > 0) || !Number.isFinite(timeoutMillis)) {
          return Effect.fail(wire(new InvalidArgument({ reason: `ask timeout must be positive, got ${timeoutMillis}` })))
        }
        const cell = resolve(to)
        if (cell === undefined) {
          node.deadletter(to, encoded, from, notFoundReason(to))
          return Effect.fail(wire(new ActorNotFound({ actorName: to })))
        }
        const decoded = Codec.decodeMessage(cell.def.protocol, encoded, node.pool.decodeContext)
        if (Either.isLeft(decoded)) {
          node.deadletter(to, encoded, from, decoded.left)
          return Effect.fail(
            wire(new DecodeError({ address: cell.addressString(), messageTag: Codec.encodedTag(encoded), reason: decoded.left }))
          )
        }
        const message: Tagged = decoded.right
        const sender = senderOf(from)
        return Effect.async<unknown, unknown>((resume) => {
          const handle = new AskHandle(resume, cell, message, timeoutMillis, sender)
          const error = cell.offerAsk(message, sender, handle)
          if (error !== undefined) return resume(Exit.fail(error))
          return Effect.sync(() => handle.cancel())
        }).pipe(
          Effect.matchEffect({
            onSuccess: (value) => {
              const reply = Codec.encodeSuccess(message, value)
              return Either.isRight(reply)
                ? Effect.succeed(reply.right as unknown)
                : Effect.fail(wire(new DecodeError({ address: cell.addressString(), messageTag: message._tag, reason: reply.left })))
            },
            onFailure: (error) => {
              if (isActorError(error)) return Effect.fail(error)
              const reply = Codec.encodeFailure(message, error)
              return Either.isRight(reply)
                ? Effect.succeed(reply.right as unknown)
                : Effect.fail(wire(new DecodeError({ address: cell.addressString(), messageTag: message._tag, reason: reply.left })))
            }
          })
        )
      }),
    Lookup: ({ name }) =>
      Effect.sync(() => {
        const cell = resolve(name)
        return cell === undefined ? null : { address: cell.addressString(), kind: cell.def.kind }
      }),
    Spawn: ({ kind, name }) =>
      Effect.suspend(() => {
        const definition = node.kinds.get(kind)
        if (definition === undefined) return Effect.fail(wire(new KindNotRegistered({ kind, node: node.node })))
        return impl.spawn(definition, name, undefined, undefined).pipe(
          Effect.map((pid) => pid.address.toString()),
          Effect.mapError(wire)
        )
      }),
    Respawn: ({ name }) => Effect.flatMap(found(name), (cell) => Effect.mapError(cell.pid.restart, wire)),
    Stop: ({ kill, name }) => Effect.flatMap(found(name), (cell) => kill ? cell.pid.kill : cell.pid.stop),
    Watch: ({ target, watcher }) => Effect.sync(() => node.addRemoteWatcher(target, watcher)),
    Unwatch: ({ target, watcher }) => Effect.sync(() => node.removeRemoteWatcher(target, watcher)),
    Terminated: ({ address, reason, watcher }) =>
      Effect.sync(() => {
        const cell = impl.lookup(watcher)
        if (cell !== undefined) node.terminated(address, cell, reason)
      }),
    Metrics: ({ name }) => Effect.flatMap(found(name), (cell) => cell.pid.metrics),
    NodeInfo: () =>
      Effect.sync(() => ({
        system: impl.name,
        host: impl.host,
        port: impl.port,
        actors: impl.live,
        kinds: [...node.kinds.keys()]
      }))
  })
}

/**
 * Serves a node's remoting on a socket server until the scope closes.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  node: Node,
  server: SocketServer.SocketServer["Type"],
  token: string | undefined
): Layer.Layer<never> =>
  RpcServer.layer(RemotingRpcs, { disableTracing: true, disableFatalDefects: true }).pipe(
    Layer.provide(RemotingRpcs.toLayer(Effect.succeed(handlers(node)))),
    Layer.provide(layerTokenAuth(() => node.node, token)),
    Layer.provide(RpcServer.layerProtocolSocketServer),
    Layer.provide(Layer.succeed(SocketServer.SocketServer, server)),
    Layer.provide(RpcSerialization.layerMsgPack)
  )
