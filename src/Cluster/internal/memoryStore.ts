/**
 * The in-memory store: the predicates of the SQL store on plain maps.
 *
 * Each operation is one `Effect.sync` block that reads the captured `Clock`
 * (`unsafeCurrentTimeMillis`, which `TestClock` drives) and mutates the maps:
 * JavaScript runs it to the end without interleaving, so it is as atomic as a
 * SQL transaction, and O(1) per row where an immutable map in a
 * `SynchronizedRef` would copy the directory on every claim.
 */
import { Effect, Option } from "effect"
import type {
  ClaimRequest,
  ClaimResult,
  Entry,
  HostProcess,
  Incarnation,
  Member,
  NodeStatus,
  Service
} from "../ClusterStore.js"

interface NodeRow {
  readonly nodeId: string
  readonly epoch: number
  readonly address: string
  readonly kinds: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string>
  readonly process: HostProcess | undefined
  readonly joinedVersion: number
  status: NodeStatus
  version: number
  expiresAt: number
  updatedAt: number
}

interface ActorRow {
  readonly name: string
  kind: string
  nodeId: string
  nodeEpoch: number
  fence: number
  relocate: boolean
  role: string | undefined
  args: Uint8Array | undefined
}

const key = (nodeId: string, epoch: number) => `${epoch}/${nodeId}`

const isLive = (row: NodeRow | undefined) => row !== undefined && (row.status === "up" || row.status === "leaving")

/** Builds an empty store on the `Clock` of the context. */
export const make: Effect.Effect<Service> = Effect.map(Effect.clock, (clock) => {
  const nodes = new Map<string, NodeRow>()
  const actors = new Map<string, ActorRow>()
  const ticks = new Map<string, number>()
  let version = 0
  /** Epochs and fences: one global counter. */
  let counter = 0
  const now = () => clock.unsafeCurrentTimeMillis()
  const node = (incarnation: Incarnation) => nodes.get(key(incarnation.nodeId, incarnation.epoch))

  const entry = (row: ActorRow): Entry => ({
    name: row.name,
    kind: row.kind,
    owner: { nodeId: row.nodeId, epoch: row.nodeEpoch },
    fence: row.fence,
    relocate: row.relocate,
    role: row.role,
    args: row.args,
    live: isLive(node({ nodeId: row.nodeId, epoch: row.nodeEpoch }))
  })

  const member = (row: NodeRow): Member => ({
    nodeId: row.nodeId,
    epoch: row.epoch,
    address: row.address,
    kinds: row.kinds,
    roles: row.roles,
    status: row.status,
    process: row.process,
    joinedVersion: row.joinedVersion,
    version: row.version,
    expiresAt: row.expiresAt
  })

  /** A status change: bumps the membership version. */
  const change = (row: NodeRow, status: NodeStatus) => {
    version += 1
    row.status = status
    row.version = version
    row.updatedAt = now()
  }

  const claimOne = (owner: Incarnation, request: ClaimRequest): ClaimResult => {
    const existing = actors.get(request.name)
    if (existing !== undefined && isLive(node({ nodeId: existing.nodeId, epoch: existing.nodeEpoch }))) {
      return { _tag: "Taken", name: request.name, owner: { nodeId: existing.nodeId, epoch: existing.nodeEpoch } }
    }
    counter += 1
    actors.set(request.name, {
      name: request.name,
      kind: request.kind,
      nodeId: owner.nodeId,
      nodeEpoch: owner.epoch,
      fence: counter,
      relocate: request.relocate ?? true,
      role: request.role,
      args: request.args
    })
    return { _tag: "Claimed", name: request.name, fence: counter }
  }

  const store: Service = {
    join: (request) =>
      Effect.sync(() => {
        version += 1
        counter += 1
        const t = now()
        const row: NodeRow = {
          nodeId: request.nodeId,
          epoch: counter,
          address: request.address,
          kinds: [...request.kinds],
          roles: [...request.roles],
          process: request.process,
          joinedVersion: version,
          status: "up",
          version,
          expiresAt: t + request.ttlMillis,
          updatedAt: t
        }
        nodes.set(key(row.nodeId, row.epoch), row)
        return { nodeId: row.nodeId, epoch: row.epoch, expiresAt: row.expiresAt, version }
      }),
    renew: (incarnation, ttlMillis) =>
      Effect.sync(() => {
        const row = node(incarnation)
        if (row === undefined || !isLive(row)) return false
        row.expiresAt = now() + ttlMillis
        return true
      }),
    markDead: (incarnation, options) =>
      Effect.sync(() => {
        const row = node(incarnation)
        if (row === undefined || !isLive(row)) return false
        if (options?.proof !== true && row.expiresAt >= now()) return false
        change(row, "dead")
        return true
      }),
    setStatus: (incarnation, status) =>
      Effect.sync(() => {
        const row = node(incarnation)
        if (row === undefined || !isLive(row)) return false
        change(row, status)
        return true
      }),
    view: (since) =>
      Effect.sync(() =>
        since !== undefined && since === version ? Option.none() : Option.some({
          version,
          now: now(),
          members: [...nodes.values()].sort((a, b) => a.joinedVersion - b.joinedVersion).map(member)
        })
      ),
    claim: (owner, requests) =>
      Effect.sync(() => {
        const claimant = node(owner)
        if (claimant === undefined || claimant.status !== "up") {
          return requests.map((request): ClaimResult => ({ _tag: "Refused", name: request.name }))
        }
        // One answer per distinct name, repeated for its duplicates (as the SQL stores answer).
        const answers = new Map<string, ClaimResult>()
        for (const request of requests) {
          if (!answers.has(request.name)) answers.set(request.name, claimOne(owner, request))
        }
        return requests.map((request) => answers.get(request.name)!) // set for every name just above
      }),
    adopt: (to, from, names) =>
      Effect.sync(() => {
        const previous = node(from)
        if (node(to)?.status !== "up" || previous === undefined || isLive(previous)) return []
        const adopted: Array<Entry> = []
        for (const name of new Set(names)) {
          const row = actors.get(name)
          if (row === undefined || row.nodeId !== from.nodeId || row.nodeEpoch !== from.epoch) continue
          counter += 1
          row.nodeId = to.nodeId
          row.nodeEpoch = to.epoch
          row.fence = counter
          adopted.push(entry(row))
        }
        return adopted
      }),
    lookup: (names) =>
      Effect.sync(() => {
        const found = new Map<string, Entry>()
        for (const name of names) {
          const row = actors.get(name)
          if (row !== undefined) found.set(name, entry(row))
        }
        return found
      }),
    owned: (incarnation) =>
      Effect.sync(() =>
        [...actors.values()]
          .filter((row) => row.nodeId === incarnation.nodeId && row.nodeEpoch === incarnation.epoch)
          .map(entry)
      ),
    release: (name, fence) =>
      Effect.sync(() => {
        const row = actors.get(name)
        if (row === undefined || row.fence !== fence) return false
        actors.delete(name)
        return true
      }),
    claimTick: (reference, tickAt) =>
      Effect.sync(() => {
        const tick = `${tickAt}/${reference}`
        if (ticks.has(tick)) return false
        ticks.set(tick, now())
        return true
      }),
    prune: (olderThanMillis) =>
      Effect.sync(() => {
        const horizon = now() - olderThanMillis
        const owners = new Set<string>()
        for (const row of actors.values()) owners.add(key(row.nodeId, row.nodeEpoch))
        let pruned = 0
        for (const [k, row] of nodes) {
          if (!isLive(row) && row.updatedAt < horizon && !owners.has(k)) {
            nodes.delete(k)
            pruned += 1
          }
        }
        for (const [tick, claimedAt] of ticks) {
          if (claimedAt < horizon) {
            ticks.delete(tick)
            pruned += 1
          }
        }
        return pruned
      }),
    now: Effect.sync(now)
  }
  return store
})
