/**
 * The byte transport under the remoting wire: TCP, TLS / mutual TLS, or a
 * test transport that delays, drops and partitions.
 *
 * A transport opens and accepts `Link`s: ordered byte streams that carry
 * whole frames (one `write` per event-loop turn and connection). It is a
 * service, so a node or a `RemoteClient` can be given another one as a
 * Layer; without one they use TCP (or TLS when their options carry TLS
 * settings).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { ActorSystem, Remoting, Transport } from "effect-actors"
 * const Node = Remoting.layer({ port: 4000 }).pipe(
 *   Layer.provide(Transport.layerTls({ server: { cert, key }, client: { ca } })),
 *   Layer.provideMerge(ActorSystem.layer({ name: "shop" }))
 * )
 * ```
 * @since 0.1.0
 */
import * as Net from "node:net"
import * as Tls from "node:tls"
import { SocketServerError } from "@effect/platform/SocketServer"
import { type Clock, Context, Effect, Layer, Runtime, type Scope } from "effect"

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

/**
 * What a link tells its owner.
 *
 * @since 0.1.0
 * @category models
 */
export interface LinkHandler {
  /** The link is ready for bytes (after the TLS handshake, if any). */
  onOpen(): void
  onData(chunk: Buffer): void
  /** The link closed; `reason` says why when it failed. Called once. */
  onClose(reason: string | undefined): void
}

/**
 * An ordered byte stream to a peer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Link {
  /** Sends bytes (whole frames). */
  write(bytes: Buffer): void
  /** Bytes written but not yet taken by the operating system. */
  readonly pendingBytes: number
  /** Closes at once; `onClose` follows. */
  close(): void
  /**
   * Closes once what was written has left. A peer that does not read can
   * keep it half open: the owner calls `close` when it has waited enough.
   */
  end(): void
  /** The peer's address, for logs. */
  readonly remote: string
}

/**
 * A listening transport.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listener {
  /** The port actually listened on. */
  readonly port: number
  /** Connections refused by the TLS handshake so far. */
  readonly handshakeFailures: () => number
}

/**
 * A transport: how links are opened and accepted.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  readonly connect: (host: string, port: number, handler: LinkHandler) => Link
  /**
   * Listens until the scope closes. `accept` is called for every new link
   * and returns its handler.
   */
  readonly listen: (
    host: string,
    port: number,
    accept: (link: Link) => LinkHandler
  ) => Effect.Effect<Listener, SocketServerError, Scope.Scope>
}

/**
 * The transport of a node or a client.
 *
 * @since 0.1.0
 * @category tags
 */
export class Transport extends Context.Tag("effect-actors/Remoting/Transport")<Transport, Service>() {}

const caList = (ca: TlsOptions["ca"]): Array<string | Buffer> | undefined =>
  ca === undefined ? undefined : Array.isArray(ca) ? [...ca] : [ca as string | Buffer]

/**
 * What a TLS failure means, in words (node's codes are terse).
 *
 * @since 0.1.0
 * @category errors
 */
export const describeTlsError = (error: Error): string => {
  const code = (error as { readonly code?: unknown }).code
  switch (code) {
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "CERT_UNTRUSTED":
      return `TLS: the server's certificate is unknown (not signed by a trusted CA: ${code})`
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `TLS: hostname mismatch: ${error.message}`
    case "CERT_HAS_EXPIRED":
      return "TLS: the server's certificate has expired"
    case "ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED":
    case "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE":
      return "TLS: the server requires a client certificate and none was sent"
    case "ERR_SSL_TLSV1_ALERT_UNKNOWN_CA":
    case "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE":
    case "ERR_SSL_TLSV1_ALERT_DECRYPT_ERROR":
      return "TLS: the peer refused our certificate (unknown to its CA)"
    case "ERR_SSL_WRONG_VERSION_NUMBER":
    case "ECONNRESET":
      return `TLS: the peer does not speak TLS or closed the handshake (${String(code)})`
    default:
      return `${typeof code === "string" ? `${code}: ` : ""}${error.message}`
  }
}

const wrap = (socket: Net.Socket, handler: LinkHandler, tls: boolean, openEvent: string | undefined): Link => {
  let closed = false
  let failure: string | undefined
  socket.setNoDelay(true)
  const link: Link = {
    write: (bytes) => {
      if (!closed) socket.write(bytes)
    },
    get pendingBytes() {
      return socket.writableLength
    },
    close: () => {
      socket.destroy()
    },
    end: () => {
      socket.end()
    },
    remote: `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`
  }
  if (openEvent !== undefined) socket.once(openEvent, () => handler.onOpen())
  socket.on("data", (chunk: Buffer) => handler.onData(chunk))
  socket.on("error", (error) => {
    failure ??= tls ? describeTlsError(error) : `${(error as { code?: string }).code ?? "error"}: ${error.message}`
  })
  socket.once("close", () => {
    closed = true
    handler.onClose(failure)
  })
  return link
}

const listenOn = (
  server: Net.Server,
  host: string,
  port: number,
  failures: () => number
): Effect.Effect<Listener, SocketServerError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Listener, SocketServerError>((resume) => {
      const onError = (error: Error) => resume(Effect.fail(new SocketServerError({ reason: "Open", cause: error })))
      server.once("error", onError)
      server.listen({ host, port }, () => {
        server.off("error", onError)
        // Later server errors (EMFILE on accept) must not crash the process.
        server.on("error", () => {})
        const address = server.address()
        resume(Effect.succeed({ port: typeof address === "object" && address !== null ? address.port : port, handshakeFailures: failures }))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        for (const socket of sockets.get(server) ?? []) socket.destroy()
      })
  )

const sockets = new WeakMap<Net.Server, Set<Net.Socket>>()

const track = (server: Net.Server, socket: Net.Socket): void => {
  let set = sockets.get(server)
  if (set === undefined) {
    set = new Set()
    sockets.set(server, set)
  }
  set.add(socket)
  socket.once("close", () => set.delete(socket))
}

/**
 * Plain TCP.
 *
 * @example
 * ```ts
 * import { Transport } from "effect-actors"
 * const tcp = Transport.makeTcp()
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeTcp = (): Service => ({
  connect: (host, port, handler) => wrap(Net.connect({ host, port }), handler, false, "connect"),
  listen: (host, port, accept) =>
    Effect.suspend(() => {
      const server = Net.createServer((socket) => {
        track(server, socket)
        const handler = accept(wrap(socket, {
          onOpen: () => {},
          onData: (chunk) => handler.onData(chunk),
          onClose: (reason) => handler.onClose(reason)
        }, false, undefined))
      })
      return listenOn(server, host, port, () => 0)
    })
})

/**
 * TLS (mutual TLS when the server side sets `requireClientCert`): `server`
 * is what this node presents to clients, `client` how it connects to others.
 *
 * @example
 * ```ts
 * import { Transport } from "effect-actors"
 * const tls = Transport.makeTls({ server: { cert, key, ca, requireClientCert: true }, client: { ca, cert, key } })
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const makeTls = (options: { readonly server?: TlsOptions; readonly client?: TlsOptions }): Service => {
  const tcp = makeTcp()
  return {
    connect: (host, port, handler) => {
      const tls = options.client
      if (tls === undefined) return tcp.connect(host, port, handler)
      const socket = Tls.connect({
        host,
        port,
        // SNI takes host names only; certificates for an IP are checked against their IP SANs.
        ...(tls.serverName !== undefined
          ? { servername: tls.serverName }
          : Net.isIP(host) === 0
          ? { servername: host }
          : {}),
        ...(tls.cert === undefined ? {} : { cert: tls.cert }),
        ...(tls.key === undefined ? {} : { key: tls.key }),
        ...(tls.ca === undefined ? {} : { ca: caList(tls.ca) })
      })
      return wrap(socket, handler, true, "secureConnect")
    },
    listen: (host, port, accept) =>
      Effect.suspend(() => {
        const tls = options.server
        if (tls === undefined) return tcp.listen(host, port, accept)
        let failures = 0
        const server = Tls.createServer({
          ...(tls.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls.key === undefined ? {} : { key: tls.key }),
          ...(tls.ca === undefined ? {} : { ca: caList(tls.ca) }),
          requestCert: tls.requireClientCert === true,
          rejectUnauthorized: tls.requireClientCert === true,
          // A peer that never finishes its handshake is dropped.
          handshakeTimeout: 5000
        }, (socket) => {
          track(server, socket)
          const handler = accept(wrap(socket, {
            onOpen: () => {},
            onData: (chunk) => handler.onData(chunk),
            onClose: (reason) => handler.onClose(reason)
          }, true, undefined))
        })
        // A refused handshake must not take the server down; it is counted.
        server.on("tlsClientError", (_error, socket) => {
          failures++
          socket.destroy()
        })
        return listenOn(server, host, port, () => failures)
      })
  }
}

/**
 * Plain TCP as a layer.
 *
 * @example
 * ```ts
 * import { Transport } from "effect-actors"
 * const TcpLive = Transport.layerTcp
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerTcp: Layer.Layer<Transport> = Layer.sync(Transport, makeTcp)

/**
 * TLS as a layer.
 *
 * @example
 * ```ts
 * import { Transport } from "effect-actors"
 * const TlsLive = Transport.layerTls({ server: { cert, key }, client: { ca } })
 * ```
 * @since 0.1.0
 * @category layers
 */
export const layerTls = (options: { readonly server?: TlsOptions; readonly client?: TlsOptions }): Layer.Layer<Transport> =>
  Layer.sync(Transport, () => makeTls(options))

/**
 * The controls of a test transport.
 *
 * @since 0.1.0
 * @category testing
 */
export interface TestControls {
  /** Every write from now on leaves `millis` later (order kept). */
  delay(millis: number): void
  /** Every write from now on is lost with this probability (whole writes: frames stay whole). */
  dropRate(probability: number): void
  /** Nothing reaches `host:port` any more: links to it are cut, connects to it fail. */
  partition(host: string, port: number): void
  /** Undoes `partition`. */
  heal(host: string, port: number): void
  /**
   * Cuts two nodes apart, both ways, while each still reaches every other
   * node: their links are closed and connects between them fail. The nodes
   * must use transports from `forNode` (which know their node by the
   * address it listens on).
   */
  cut(a: { readonly host: string; readonly port: number }, b: { readonly host: string; readonly port: number }): void
  /** Undoes `cut`. */
  mend(a: { readonly host: string; readonly port: number }, b: { readonly host: string; readonly port: number }): void
}

/**
 * The controls of the test transport of the context.
 *
 * @since 0.1.0
 * @category testing
 */
export class TestTransport extends Context.Tag("effect-actors/Remoting/TestTransport")<TestTransport, TestControls>() {}

/**
 * A transport for fault tests: TCP underneath (or `base`), with writes
 * that can be delayed or dropped and nodes that can be partitioned away.
 * Delays run on the Clock of `runtime` (the default runtime's live clock
 * unless given; `layerTest` uses the Clock of where it is built, so a
 * `TestClock` drives them).
 *
 * `transport` can be shared by every node of a test; `forNode()` gives each
 * node its own view of the same network, which `cut` needs to separate two
 * nodes both ways.
 *
 * @example
 * ```ts
 * import { Transport } from "effect-actors"
 * const { transport, controls, forNode } = Transport.makeTest()
 * controls.partition("127.0.0.1", 4001) // node 4001 is unreachable for everyone using `transport`
 * // three nodes on forNode() each: a and b cut apart, both still talk to c
 * controls.cut({ host: "127.0.0.1", port: 4001 }, { host: "127.0.0.1", port: 4002 })
 * ```
 * @since 0.1.0
 * @category testing
 */
export const makeTest = (
  base: Service = makeTcp(),
  runtime: Runtime.Runtime<never> = Runtime.defaultRuntime
): { readonly transport: Service; readonly controls: TestControls; readonly forNode: () => Service } => {
  let delayMillis = 0
  let drop = 0
  /** Partitioned nodes (nothing reaches them) and cut pairs (`a|b`, sorted). */
  const partitioned = new Set<string>()
  const pairs = new Set<string>()
  const pairKey = (a: string, b: string) => a < b ? `${a}|${b}` : `${b}|${a}`
  const isCut = (from: string | undefined, to: string) =>
    partitioned.has(to) || (from !== undefined && pairs.has(pairKey(from, to)))
  /** Links opened through this transport, with the node they came from when it is known. */
  const links = new Set<{ readonly from: string | undefined; readonly to: string; readonly link: Link }>()
  const clock: Clock.Clock = Runtime.runSync(runtime)(Effect.clock)
  const faulty = (link: Link): Link => {
    // Delayed writes wait in order; one fiber per link writes each when it is due.
    const queue: Array<{ readonly due: number; readonly bytes: Buffer }> = []
    let draining = false
    const drain: Effect.Effect<void> = Effect.suspend(() => {
      const head = queue[0]
      if (head === undefined) {
        draining = false
        return Effect.void
      }
      const wait = head.due - clock.unsafeCurrentTimeMillis()
      if (wait > 0) return Effect.zipRight(Effect.sleep(wait), drain)
      queue.shift()
      link.write(head.bytes)
      return drain
    })
    return {
      write: (bytes) => {
        if (drop > 0 && Math.random() < drop) return
        if (delayMillis === 0 && queue.length === 0) return link.write(bytes)
        queue.push({ due: clock.unsafeCurrentTimeMillis() + delayMillis, bytes })
        if (draining) return
        draining = true
        Runtime.runFork(runtime)(drain)
      },
      get pendingBytes() {
        return link.pendingBytes
      },
      close: () => link.close(),
      end: () => link.end(),
      remote: link.remote
    }
  }
  const controls: TestControls = {
    delay: (millis) => {
      delayMillis = millis
    },
    dropRate: (probability) => {
      drop = probability
    },
    partition: (host, port) => {
      const key = `${host}:${port}`
      partitioned.add(key)
      for (const entry of [...links]) if (entry.to === key) entry.link.close()
    },
    heal: (host, port) => {
      partitioned.delete(`${host}:${port}`)
    },
    cut: (a, b) => {
      const key = pairKey(`${a.host}:${a.port}`, `${b.host}:${b.port}`)
      pairs.add(key)
      for (const entry of [...links]) {
        if (entry.from !== undefined && pairKey(entry.from, entry.to) === key) entry.link.close()
      }
    },
    mend: (a, b) => {
      pairs.delete(pairKey(`${a.host}:${a.port}`, `${b.host}:${b.port}`))
    }
  }
  const connect = (from: string | undefined, host: string, port: number, handler: LinkHandler): Link => {
    const to = `${host}:${port}`
    if (isCut(from, to)) {
      // Not a timer: the handler must not hear of the close before `connect` has returned its link.
      setImmediate(() => handler.onClose("partitioned (test transport)"))
      return { write: () => {}, pendingBytes: 0, close: () => {}, end: () => {}, remote: to }
    }
    let entry: { readonly from: string | undefined; readonly to: string; readonly link: Link } | undefined = undefined
    const link = base.connect(host, port, {
      onOpen: () => handler.onOpen(),
      onData: (chunk) => handler.onData(chunk),
      onClose: (reason) => {
        if (entry !== undefined) links.delete(entry)
        handler.onClose(isCut(from, to) ? "partitioned (test transport)" : reason)
      }
    })
    entry = { from, to, link }
    links.add(entry)
    return faulty(link)
  }
  const listen = (host: string, port: number, accept: (link: Link) => LinkHandler) =>
    base.listen(host, port, (link) => accept(faulty(link)))
  const transport: Service = { connect: (host, port, handler) => connect(undefined, host, port, handler), listen }
  const forNode = (): Service => {
    // The node is known by the address it listens on (set before it connects anywhere).
    let self: string | undefined = undefined
    return {
      connect: (host, port, handler) => connect(self, host, port, handler),
      listen: (host, port, accept) =>
        Effect.tap(listen(host, port, accept), (listener) =>
          Effect.sync(() => {
            self = `${host}:${listener.port}`
          }))
    }
  }
  return { transport, controls, forNode }
}

/**
 * The test transport as a layer: provides `Transport` and its `TestTransport` controls.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Remoting, Transport } from "effect-actors"
 * // const controls = yield* Transport.TestTransport
 * // controls.delay(20)
 * ```
 * @since 0.1.0
 * @category testing
 */
export const layerTest: Layer.Layer<Transport | TestTransport> = Layer.effectContext(
  Effect.map(Effect.runtime<never>(), (runtime) => {
    const { controls, transport } = makeTest(makeTcp(), runtime)
    return Context.make(Transport, transport).pipe(Context.add(TestTransport, controls))
  })
)
