/**
 * What every provider does with the peers it finds: print their addresses the
 * way remoting does, keep lists in one order, and turn a one-shot lookup into
 * a `watch` stream by polling.
 *
 * @internal
 */
import { Effect, Queue, Schedule, type Scope, Stream } from "effect"
import type { DiscoveryUnavailable } from "../../ClusterError.js"
import type { Peer } from "./service.js"

/** `host:port`, or `system@host:port` when the system's name is known (an IPv6 host in brackets). */
export const formatAddress = (system: string | undefined, host: string, port: number): string => {
  const h = host.includes(":") ? `[${host}]` : host
  return system === undefined ? `${h}:${port}` : `${system}@${h}:${port}`
}

/** One entry per node id, sorted by node id, so equal sets print and compare alike. */
export const normalize = (peers: Iterable<Peer>): ReadonlyArray<Peer> => {
  const byId = new Map<string, Peer>()
  for (const peer of peers) byId.set(peer.nodeId, { nodeId: peer.nodeId, address: peer.address })
  return [...byId.values()].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0))
}

export const samePeers = (a: ReadonlyArray<Peer>, b: ReadonlyArray<Peer>): boolean =>
  a.length === b.length && a.every((peer, i) => peer.nodeId === b[i]?.nodeId && peer.address === b[i]?.address)

/**
 * The peers every `interval`, emitted when they change. A failed lookup is
 * logged and retried at the next tick: a watch outlives a flaky resolver.
 */
export const pollingWatch = (
  peers: Effect.Effect<ReadonlyArray<Peer>, DiscoveryUnavailable>,
  intervalMillis: number
): Stream.Stream<ReadonlyArray<Peer>> =>
  Stream.repeatEffectWithSchedule(
    Effect.option(Effect.tapError(peers, (error) => Effect.logWarning("discovery: lookup failed", error))),
    Schedule.spaced(intervalMillis)
  ).pipe(
    Stream.filterMap((found) => found),
    Stream.changesWith(samePeers)
  )

/**
 * A `watch` for providers whose nodes announce themselves (NATS join/leave,
 * mDNS announcements and goodbyes): listen first, then look up once, then
 * apply each announcement, emitting the list when it changes. `listen` gets
 * a callback to call from the library's handlers and runs in the stream's
 * scope (its finalizers stop listening).
 */
export const announcedWatch = <E, E2>(
  peers: Effect.Effect<ReadonlyArray<Peer>, E>,
  listen: (announce: (joined: boolean, peer: Peer) => void) => Effect.Effect<void, E2, Scope.Scope>
): Stream.Stream<ReadonlyArray<Peer>, E | E2> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const events = yield* Queue.unbounded<readonly [joined: boolean, peer: Peer]>()
      // Listening before the lookup, so no announcement in between is missed.
      yield* listen((joined, peer) => events.unsafeOffer([joined, peer]))
      const known = new Map((yield* peers).map((peer) => [peer.nodeId, peer] as const))
      const current = () => normalize(known.values())
      return Stream.concat(
        Stream.succeed(current()),
        Stream.fromQueue(events).pipe(Stream.map(([joined, peer]) => {
          if (joined) known.set(peer.nodeId, peer)
          else known.delete(peer.nodeId)
          return current()
        }))
      ).pipe(Stream.changesWith(samePeers))
    })
  )
