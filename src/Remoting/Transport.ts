/**
 * The byte transport under the rpc protocol: TCP, or TLS / mutual TLS.
 *
 * `@effect/platform-node` 0.108 has no TLS option on its socket layers, so
 * the server side is our own `SocketServer` over `net.createServer` or
 * `tls.createServer` (shaped like `NodeSocketServer.make`), and the client
 * side wraps a `tls.connect` stream with `NodeSocket.fromDuplex`. A client
 * that fails the handshake (no certificate under mTLS, an unknown CA) is
 * dropped by node's TLS layer and never reaches the rpc server.
 *
 * @example
 * ```ts
 * import { Remoting } from "effect-actors"
 * const tls: Remoting.TlsOptions = {
 *   cert: serverCertPem, key: serverKeyPem, ca: caPem, requireClientCert: true
 * }
 * ```
 * @since 0.1.0
 */
import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import { NodeSocket } from "@effect/platform-node"
import { Deferred, Effect, Exit, FiberSet, type Scope } from "effect"
import * as Net from "node:net"
import * as Tls from "node:tls"

/**
 * TLS settings of a node (server side) or of a client. PEM strings or
 * buffers, as node's `tls` takes them.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsOptions {
  /** This side's certificate chain (required on a server; on a client only for mutual TLS). */
  readonly cert?: string | Buffer
  /** This side's private key. */
  readonly key?: string | Buffer
  /** The certificate authorities to trust (default: node's bundled roots). */
  readonly ca?: string | Buffer | ReadonlyArray<string | Buffer>
  /** Server side: refuse clients without a certificate signed by `ca` (mutual TLS). */
  readonly requireClientCert?: boolean
  /** Client side: the name to check in the server's certificate (default: the host). */
  readonly serverName?: string
}

const caList = (ca: TlsOptions["ca"]): Array<string | Buffer> | undefined =>
  ca === undefined ? undefined : Array.isArray(ca) ? [...ca] : [ca as string | Buffer]

/**
 * A `SocketServer` listening on `host:port` (0 picks a free port), over TLS
 * when `tls` is given. Closing the scope stops listening and drops the
 * connections.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeServer = (options: {
  readonly host: string
  readonly port: number
  readonly tls?: TlsOptions | undefined
}): Effect.Effect<SocketServer.SocketServer["Type"], SocketServer.SocketServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const errorDeferred = yield* Deferred.make<never, Error>()
    const pending: Array<Net.Socket> = []
    let onConnection = (socket: Net.Socket) => {
      pending.push(socket)
    }
    const tls = options.tls
    const server: Net.Server = tls === undefined
      ? Net.createServer((conn) => onConnection(conn))
      : Tls.createServer({
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.ca === undefined ? {} : { ca: caList(tls.ca) }),
        requestCert: tls.requireClientCert === true,
        rejectUnauthorized: tls.requireClientCert === true
      }, (conn) => onConnection(conn))
    // A refused handshake must not take the server down.
    server.on("tlsClientError", () => {})
    server.on("error", (cause) => Deferred.unsafeDone(errorDeferred, Exit.fail(cause)))
    const connections = new Set<Net.Socket>()
    server.on(tls === undefined ? "connection" : "secureConnection", (conn: Net.Socket) => {
      // Small replies must leave at once (Nagle + delayed ACKs cost milliseconds per call).
      conn.setNoDelay(true)
      connections.add(conn)
      conn.on("close", () => connections.delete(conn))
    })
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        for (const conn of connections) conn.destroy()
        server.close(() => resume(Effect.void))
      })
    )
    // Interruptible: the race must be able to stop its loser even when built in an uninterruptible region.
    yield* Effect.async<void>((resume) => {
      server.listen({ host: options.host, port: options.port }, () => resume(Effect.void))
    }).pipe(
      Effect.raceFirst(
        Effect.mapError(Deferred.await(errorDeferred), (cause) => new SocketServer.SocketServerError({ reason: "Open", cause }))
      ),
      Effect.interruptible
    )

    const run = <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>) =>
      Effect.scoped(Effect.gen(function*() {
        const runFork = yield* FiberSet.makeRuntime<R>()
        const onConnection_ = (conn: Net.Socket) => {
          let error: Error | undefined
          conn.on("error", (err) => {
            error = err
          })
          runFork(
            NodeSocket.fromDuplex(
              Effect.acquireRelease(
                Effect.suspend((): Effect.Effect<Net.Socket, Socket.SocketError> => {
                  if (error !== undefined) {
                    return Effect.fail(new Socket.SocketGenericError({ reason: "Open", cause: error }))
                  }
                  if (conn.closed) return Effect.fail(new Socket.SocketCloseError({ reason: "Close", code: 1000 }))
                  return Effect.succeed(conn)
                }),
                (conn) => Effect.sync(() => conn.destroySoon())
              )
            ).pipe(
              Effect.flatMap(handler),
              // One broken connection never concerns the others.
              Effect.catchAllCause(() => Effect.void)
            )
          )
        }
        return yield* Effect.async<never>(() => {
          const previous = onConnection
          onConnection = onConnection_
          pending.forEach(onConnection_)
          pending.length = 0
          return Effect.sync(() => {
            onConnection = previous
          })
        }).pipe(
          Effect.raceFirst(
            Effect.mapError(
              Deferred.await(errorDeferred),
              (cause) => new SocketServer.SocketServerError({ reason: "Unknown", cause })
            )
          )
        )
      }))

    const address = server.address()
    return SocketServer.SocketServer.of({
      address: typeof address === "object" && address !== null
        ? { _tag: "TcpAddress", hostname: address.address, port: address.port }
        : { _tag: "UnixAddress", path: String(address) },
      run
    })
  })

/**
 * A client socket to `host:port`, over TLS when `tls` is given (the server's
 * certificate is checked against `tls.ca`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeClientSocket = (options: {
  readonly host: string
  readonly port: number
  readonly tls?: TlsOptions | undefined
  readonly openTimeout?: import("effect").Duration.DurationInput | undefined
}): Effect.Effect<Socket.Socket> => {
  const tls = options.tls
  const openTimeout = options.openTimeout ?? "5 seconds"
  if (tls === undefined) {
    return Effect.orDie(
      NodeSocket.makeNet({ host: options.host, port: options.port, openTimeout, noDelay: true })
    )
  }
  return NodeSocket.fromDuplex(
    Effect.acquireRelease(
      Effect.async<Tls.TLSSocket, Socket.SocketError>((resume) => {
        const conn = Tls.connect({
          host: options.host,
          port: options.port,
          // SNI takes host names only; certificates for an IP are checked against their IP SANs.
          ...(tls.serverName !== undefined
            ? { servername: tls.serverName }
            : Net.isIP(options.host) === 0
            ? { servername: options.host }
            : {}),
          ...(tls.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls.key === undefined ? {} : { key: tls.key }),
          ...(tls.ca === undefined ? {} : { ca: caList(tls.ca) })
        })
        conn.setNoDelay(true)
        conn.once("secureConnect", () => resume(Effect.succeed(conn)))
        conn.once("error", (cause) => {
          conn.destroy()
          resume(Effect.fail(new Socket.SocketGenericError({ reason: "Open", cause })))
        })
        return Effect.sync(() => conn.destroy())
      }),
      (conn) => Effect.sync(() => conn.destroy())
    ),
    { openTimeout }
  )
}
