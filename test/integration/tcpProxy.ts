/**
 * A TCP proxy on 127.0.0.1 (a free port) in front of a server, that can cut
 * the network between its clients and the server the way a partition does:
 * `blackhole()` stops forwarding bytes both ways on every open connection
 * and accepts new connections without ever connecting them on; nothing is
 * reset, so each side just waits, as it would behind a dead link. `heal()`
 * delivers what was held back, in order (as TCP retransmission would once
 * the link is back) and connects the connections accepted meanwhile.
 * `reopen()` lets new connections through but keeps the held ones cut for
 * good (a stateful firewall that lost its state). Closing the scope
 * destroys every connection and the listener.
 */
import { Effect, type Scope } from "effect"
import * as Net from "node:net"

export interface TcpProxy {
  /** The port clients connect to (on 127.0.0.1). */
  readonly port: number
  readonly blackhole: Effect.Effect<void>
  readonly heal: Effect.Effect<void>
  /**
   * New connections go through again, but those held now stay held until
   * the scope closes: a stateful firewall that lost its state drops the old
   * flows silently and lets new ones pass.
   */
  readonly reopen: Effect.Effect<void>
  /** Connections accepted so far, and chunks held back by blackholes so far (both ways). */
  readonly stats: Effect.Effect<{ readonly connections: number; readonly held: number }>
}

/** What waits to be written to one side: data, then perhaps its peer's end. */
type Pending = Array<Buffer | "end">

interface Link {
  readonly client: Net.Socket
  upstream: Net.Socket | undefined
  /** The upstream socket has connected (writes before that are held). */
  connected: boolean
  readonly toUpstream: Pending
  readonly toClient: Pending
  /** Cut off: nothing is forwarded either way. */
  held: boolean
}

export const tcpProxy = (target: { readonly host: string; readonly port: number }): Effect.Effect<TcpProxy, Error, Scope.Scope> =>
  Effect.gen(function*() {
    const links = new Set<Link>()
    /** New connections are cut off as they come. */
    let blackholed = false
    let connections = 0
    let held = 0

    const destroy = (link: Link) => {
      links.delete(link)
      link.client.destroy()
      link.upstream?.destroy()
    }

    const deliver = (to: Net.Socket, item: Buffer | "end") => {
      if (item === "end") to.end()
      else to.write(item)
    }

    /** Writes what is pending on each side that may be written to now. */
    const flush = (link: Link) => {
      if (link.held) return
      if (link.upstream === undefined) connectUpstream(link)
      if (link.connected && link.upstream !== undefined) {
        for (const item of link.toUpstream.splice(0)) deliver(link.upstream, item)
      }
      for (const item of link.toClient.splice(0)) deliver(link.client, item)
    }

    /** Forwards `item` to one side now, or holds it while cut off (or while the upstream still connects). */
    const forward = (link: Link, direction: "up" | "down", item: Buffer | "end") => {
      const queue = direction === "up" ? link.toUpstream : link.toClient
      if (link.held) {
        held++
        queue.push(item)
        return
      }
      queue.push(item)
      flush(link)
    }

    const connectUpstream = (link: Link) => {
      const upstream = Net.connect({ host: target.host, port: target.port })
      link.upstream = upstream
      upstream.setNoDelay(true)
      upstream.on("connect", () => {
        link.connected = true
        flush(link)
      })
      upstream.on("data", (chunk) => forward(link, "down", chunk))
      upstream.on("end", () => forward(link, "down", "end"))
      upstream.on("error", () => destroy(link))
      upstream.on("close", () => {
        if (!link.held) destroy(link)
      })
    }

    const server = Net.createServer({ allowHalfOpen: true }, (client) => {
      connections++
      client.setNoDelay(true)
      const link: Link = { client, upstream: undefined, connected: false, toUpstream: [], toClient: [], held: blackholed }
      links.add(link)
      client.on("data", (chunk) => forward(link, "up", chunk))
      client.on("end", () => forward(link, "up", "end"))
      client.on("error", () => destroy(link))
      client.on("close", () => {
        if (!link.held) destroy(link)
      })
      // A connection accepted while cut off is connected on only at `heal`.
      if (!link.held) connectUpstream(link)
    })

    const port = yield* Effect.acquireRelease(
      Effect.async<number, Error>((resume) => {
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          for (const link of [...links]) destroy(link)
          server.close(() => resume(Effect.void))
        })
    )

    return {
      port,
      blackhole: Effect.sync(() => {
        blackholed = true
        for (const link of links) link.held = true
      }),
      heal: Effect.sync(() => {
        blackholed = false
        for (const link of [...links]) {
          link.held = false
          flush(link)
        }
      }),
      reopen: Effect.sync(() => {
        blackholed = false
      }),
      stats: Effect.sync(() => ({ connections, held }))
    }
  })
