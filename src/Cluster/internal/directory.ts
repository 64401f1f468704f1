/**
 * The directory of names as seen by one node: it claims top-level names
 * before their spawn commits (through a batcher, so concurrent spawns share
 * store round trips), pairs each claimed cell with its fence, releases the
 * name when the cell leaves the registry, and resolves names of other nodes
 * to PIDs through a cache that stays valid while the owner's incarnation
 * lives.
 *
 * @internal
 */
import { Effect, Either, Exit, Option, Runtime, Schedule } from "effect"
import * as Address from "../../Address.js"
import { ClusterSuspended, NameTaken, SpawnFailed } from "../../Errors.js"
import type * as Pid from "../../Pid.js"
import type { Cell } from "../../internal/cell.js"
import type { AnyDefinition, ClusterHooks, GrainHooks, SystemImpl } from "../../internal/system.js"
import type { StoreUnavailable } from "../ClusterError.js"
import type { ClaimRequest, ClaimResult, Entry, Incarnation, Member, Service as Store, View } from "../ClusterStore.js"
import { isGrainName } from "./grainName.js"
import * as Travel from "./travel.js"
import type * as Batcher from "./batcher.js"

/**
 * This node's mirror of membership: who it is, whether it is suspended, and
 * the members of the last view, readable without an effect on the hot path
 * (a cached send checks its owner's liveness here). Fed by `Membership`.
 */
export class NodeView {
  private byKey = new Map<string, Member>()
  private list: ReadonlyArray<Member> = []
  version = -1
  private isSuspended: boolean
  /** Who waits for this node to suspend (`onSuspended`). */
  private readonly waiting = new Set<() => void>()

  /** Called when remoting lost a connection to a member (the cluster runs the reaper now). */
  onUnreachable: () => void = () => {}

  constructor(public self: Incarnation, suspended = false) {
    this.isSuspended = suspended
  }

  /** Whether cluster actors must not run here now (suspended, or left). */
  get suspended(): boolean {
    return this.isSuspended
  }

  set suspended(suspended: boolean) {
    this.isSuspended = suspended
    if (!suspended) return
    for (const wake of [...this.waiting]) wake()
  }

  /** Calls `wake` once when this node suspends (not if it already is); answers how to take the call back. */
  onSuspended(wake: () => void): () => void {
    const once = () => {
      this.waiting.delete(once)
      wake()
    }
    this.waiting.add(once)
    return () => this.waiting.delete(once)
  }

  /** Takes a newer view; answers whether anything changed. */
  update(view: View): boolean {
    if (view.version === this.version) return false
    this.version = view.version
    this.list = view.members
    const byKey = new Map<string, Member>()
    for (const member of view.members) byKey.set(incarnationKey(member), member)
    this.byKey = byKey
    return true
  }

  member(node: Incarnation): Member | undefined {
    return this.byKey.get(incarnationKey(node))
  }

  /** The member of an incarnation key (`incarnationKey`), if it is in the view. */
  memberByKey(key: string): Member | undefined {
    return this.byKey.get(key)
  }

  members(): ReadonlyArray<Member> {
    return this.list
  }
}

export const incarnationKey = (node: Incarnation): string => `${node.nodeId}#${node.epoch}`

/** A spawn through `Cluster.spawn`: the options that travel with the name. */
export class TravelRequest {
  private encoded: Uint8Array | undefined = undefined
  constructor(readonly travel: Travel.Travel) {}

  /** The row's `args`, encoded once however many claims use this request (never mutated). */
  get args(): Uint8Array {
    return this.encoded ??= Travel.encode(this.travel)
  }
}

/** The claim of a spawn that brought no options. */
const noTravel = new TravelRequest({})

/** A spawn of a row this node already holds (adopted, or handed over): its fence. */
export class AdoptedRequest {
  constructor(readonly fence: number) {}
}

/** A cached resolution: the PID and the incarnation whose life bounds it. */
interface Cached {
  readonly pid: Pid.Pid
  /** The owner's incarnation key, built once. */
  readonly ownerKey: string
  /** The view version in which the owner was last seen live: a send by name in the same view reads only this. */
  liveIn: number
}

export const sameIncarnation = (a: Incarnation, b: Incarnation): boolean =>
  a.nodeId === b.nodeId && a.epoch === b.epoch

export const isLiveStatus = (member: Member | undefined): boolean =>
  member !== undefined && (member.status === "up" || member.status === "leaving")

/** `system@host:port` of a member, split; undefined for a node without remoting. */
export const parseNodeAddress = (
  address: string
): { readonly system: string; readonly host: string; readonly port: number } | undefined => {
  const match = /^(?:([^@]+)@)?(.+):(\d+)$/.exec(address)
  if (match === null) return undefined
  return { system: match[1] ?? "", host: match[2] ?? "", port: Number(match[3]) }
}

/** `host:port` of a member's remoting address (how remoting names a node), or undefined. */
const nodeKeyOf = (member: Member | undefined): string | undefined => {
  const node = parseNodeAddress(member?.address ?? "")
  return node === undefined ? undefined : `${node.host}:${node.port}`
}

/**
 * How often a suspect node is probed: until it answers a probe, names it
 * holds read as moving (sends wait for their redeployment or for the node's
 * return instead of being sent into the void).
 */
export const probeEveryMillis = 1000

/** A node remoting lost: since when (this node's clock), and whether a probe is out. */
interface Suspicion {
  since: number
  probing: boolean
}

/** A store call retried briefly: a claim or release lost to contention is worth a second try. */
const retried = <A>(effect: Effect.Effect<A, StoreUnavailable>) =>
  Effect.retry(effect, Schedule.intersect(Schedule.exponential("20 millis"), Schedule.recurs(4)))

export class Directory implements ClusterHooks {
  /** Fences of the cells this node runs under a claim. */
  private readonly fences = new Map<Cell, number>()
  private readonly cache = new Map<string, Cached>()
  /** Cells stopping without giving their name back: another node adopts the row (leave, suspension, zombies). */
  private readonly keep = new Set<Cell>()
  /** Nodes (`host:port`) remoting lost and that have not answered a probe since. */
  private readonly suspects = new Map<string, Suspicion>()
  /** This node's grains (`grains.ts`), told when a grain's cell binds and unbinds. */
  grains: (GrainHooks & { bound(cell: Cell): void; unbound(cell: Cell): void }) | undefined = undefined

  constructor(
    readonly impl: SystemImpl,
    readonly store: Store,
    readonly port: NodeView,
    private readonly claims: Batcher.Batcher<ClaimRequest, ClaimResult, StoreUnavailable>,
    private readonly lookups: (name: string) => Effect.Effect<Entry | undefined, StoreUnavailable>,
    private readonly runtime: Runtime.Runtime<never>,
    /** The kinds this node registered (relocatable by default). */
    readonly kinds: ReadonlyMap<string, AnyDefinition>,
    /** The per-system default of `relocate`. */
    private readonly relocateByDefault: boolean,
    /** Builds the PID of a name on another node. */
    private readonly remotePid: (address: string, name: string, def: AnyDefinition | undefined) => Pid.Pid | undefined,
    /** This node's clock (milliseconds), for suspicions. */
    private readonly now: () => number,
    /** Whether the node at `host:port` answers (a remoting probe). */
    private readonly probe: (node: string) => Effect.Effect<boolean>
  ) {}

  // ----------------------------------------------------------- the hooks

  claim(name: string, def: AnyDefinition, request: unknown): Effect.Effect<number, NameTaken | SpawnFailed | ClusterSuspended> {
    if (request instanceof AdoptedRequest) return Effect.succeed(request.fence)
    return Effect.suspend(() => {
      const self = this.port.self
      if (this.port.suspended) return Effect.fail(new ClusterSuspended({ node: self.nodeId, actorName: name }))
      const traveling = request instanceof TravelRequest ? request : noTravel
      const travel = traveling.travel
      const claim: ClaimRequest = {
        name,
        kind: def.kind,
        relocate: travel.relocate ?? (this.relocateByDefault && this.kinds.has(def.kind)),
        role: travel.role,
        args: traveling.args
      }
      return Effect.matchEffect(this.claimWhileActive(claim), {
        onFailure: (error) =>
          Effect.fail(new SpawnFailed({ actorName: name, reason: `the cluster store did not answer the claim: ${error.reason}`, cause: error })),
        onSuccess: (result): Effect.Effect<number, NameTaken | ClusterSuspended> => {
          if (result === "suspended") return Effect.fail(new ClusterSuspended({ node: self.nodeId, actorName: name }))
          switch (result._tag) {
            case "Claimed":
              return Effect.succeed(result.fence)
            case "Taken":
              return Effect.fail(
                new NameTaken({ actorName: name, address: this.addressOf(result.owner, name), node: result.owner.nodeId })
              )
            case "Refused":
              return Effect.fail(new ClusterSuspended({ node: self.nodeId, actorName: name }))
          }
        }
      })
    })
  }

  /**
   * A claim that gives up when this node suspends before the store answers
   * (a store cut off answers only when the cut heals, if ever), and whose
   * answer counts only if this node is still active when it comes: a
   * suspended node starts no cluster actor. A name the store gave it after
   * all is given back (fenced), when its answer comes.
   */
  private claimWhileActive(claim: ClaimRequest): Effect.Effect<ClaimResult | "suspended", StoreUnavailable> {
    const giveBack = (result: ClaimResult) => {
      if (result._tag === "Claimed") this.release(claim.name, result.fence)
    }
    // One callback each way, no fiber: this runs once per spawn and per grain activation.
    return Effect.async<ClaimResult | "suspended", StoreUnavailable>((resume) => {
      if (this.port.suspended) return resume(Effect.succeed("suspended"))
      let settled = false
      const forget = this.port.onSuspended(() => {
        if (settled) return
        settled = true
        resume(Effect.succeed("suspended"))
      })
      this.claims.submit(claim, (exit) => {
        forget()
        if (settled) {
          // Answered after this node suspended, or after the caller gave up: no actor starts under it.
          if (Exit.isSuccess(exit)) giveBack(exit.value)
          return
        }
        settled = true
        if (Exit.isSuccess(exit) && this.port.suspended) {
          giveBack(exit.value)
          return resume(Effect.succeed("suspended"))
        }
        resume(exit)
      })
      return Effect.sync(() => {
        forget()
        settled = true
      })
    })
  }

  bind(cell: Cell, fence: number): void {
    this.fences.set(cell, fence)
    this.cache.delete(cell.name)
    if (this.grains !== undefined && isGrainName(cell.name)) this.grains.bound(cell)
  }

  reserved(name: string): boolean {
    return isGrainName(name)
  }

  abandon(name: string, fence: number): void {
    this.release(name, fence)
  }

  unbind(cell: Cell): void {
    const fence = this.fences.get(cell)
    if (fence === undefined) return
    this.fences.delete(cell)
    if (this.grains !== undefined && isGrainName(cell.name)) this.grains.unbound(cell)
    if (!this.keep.delete(cell)) this.release(cell.name, fence)
  }

  fence(cell: Cell): number | undefined {
    return this.fences.get(cell)
  }

  lookup(name: string): Effect.Effect<Option.Option<Pid.Pid>> {
    return Effect.orElseSucceed(this.resolve(name), () => Option.none())
  }

  unreachable(node: string): void {
    this.port.onUnreachable()
    const suspicion = this.suspects.get(node)
    if (suspicion === undefined) this.suspects.set(node, { since: this.now(), probing: false })
    else suspicion.since = this.now()
  }

  /**
   * Whether remoting lost this member and it has not answered since: a dead
   * node's PIDs must not be used while the store still lists it (its lease
   * has not run out yet). A suspect is probed every `probeEveryMillis`; the
   * first answer clears it.
   */
  isSuspect(member: Member | undefined): boolean {
    if (this.suspects.size === 0) return false // the hot path: a send by name checks this each time
    const key = nodeKeyOf(member)
    if (key === undefined) return false
    const suspicion = this.suspects.get(key)
    if (suspicion === undefined) return false
    if (!suspicion.probing && this.now() - suspicion.since >= probeEveryMillis) {
      suspicion.probing = true
      Runtime.runFork(this.runtime)(Effect.map(this.probe(key), (answered) => {
        suspicion.probing = false
        if (answered && this.suspects.get(key) === suspicion) this.suspects.delete(key)
        else suspicion.since = this.now()
      }))
    }
    return true
  }

  // -------------------------------------------------------------- names

  /** The cluster actors running here, with their fences. */
  running(): ReadonlyArray<readonly [Cell, number]> {
    return [...this.fences]
  }

  /**
   * Stops a cluster actor but leaves its row: gracefully (its mailbox
   * drained, `postStop` run) for a leave, at once when this node must stop
   * running it (suspension, a row that moved).
   */
  stopKeepingRow(cell: Cell, graceful: boolean): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!this.fences.has(cell)) return Effect.void
      this.keep.add(cell)
      return graceful ? cell.pid.stop : cell.pid.kill
    })
  }

  /** Gives a name back (fenced: a row someone else took since stays theirs). Runs detached. */
  private release(name: string, fence: number): void {
    Runtime.runFork(this.runtime)(Effect.ignore(retried(this.store.release(name, fence))))
  }

  /** `system@host:port` of an incarnation's node as an actor address, for errors. */
  addressOf(owner: Incarnation, name: string): string {
    if (sameIncarnation(owner, this.port.self)) {
      return this.impl.lookup(name)?.addressString() ?? `effect-actors://${this.impl.name}/${name}`
    }
    const node = parseNodeAddress(this.port.member(owner)?.address ?? "")
    return node === undefined
      ? `effect-actors://${owner.nodeId}/${name}`
      : Address.make({ system: node.system || owner.nodeId, host: node.host, port: node.port, path: [name] }).toString()
  }

  /**
   * Finds the PID of a name: the local registry, then the cache (valid while
   * the owner's incarnation lives), then the store (batched). `None` when no
   * live actor answers for it right now.
   */
  resolve(name: string): Effect.Effect<Option.Option<Pid.Pid>, StoreUnavailable> {
    return Effect.map(
      this.resolveOrMoving(name),
      (found) => typeof found === "string" ? Option.none() : Option.some(found)
    )
  }

  /**
   * Like `resolve`, but tells a name nobody holds (`"absent"`) from one whose
   * row is held but that no live actor answers for right now (`"moving"`:
   * its owner died and survivors have not adopted it yet, or its spawn has
   * not finished).
   */
  resolveOrMoving(name: string): Effect.Effect<Pid.Pid | "absent" | "moving", StoreUnavailable> {
    const pid = this.cached(name)
    if (pid !== undefined) return Effect.succeed(pid)
    return Effect.map(this.lookups(name), (entry) => this.toPid(name, entry))
  }

  private toPid(name: string, entry: Entry | undefined): Pid.Pid | "absent" | "moving" {
    if (entry === undefined) return "absent"
    if (!entry.live) return "moving"
    if (sameIncarnation(entry.owner, this.port.self)) return this.impl.lookup(name)?.pid ?? "moving"
    const member = this.port.member(entry.owner)
    if (member === undefined || !isLiveStatus(member) || this.isSuspect(member)) return "moving"
    const pid = this.remotePid(member.address, name, this.kinds.get(entry.kind))
    if (pid === undefined) return "moving"
    this.cache.set(name, { pid, ownerKey: incarnationKey(entry.owner), liveIn: this.port.version })
    return pid
  }

  /** The PID of a name here or in the cache, without any store call. */
  cached(name: string): Pid.Pid | undefined {
    const cell = this.impl.lookup(name)
    if (cell !== undefined) return cell.pid
    const cached = this.cache.get(name)
    if (cached === undefined) return undefined
    if (cached.liveIn === this.port.version && this.suspects.size === 0) return cached.pid
    const owner = this.port.memberByKey(cached.ownerKey)
    if (isLiveStatus(owner) && !this.isSuspect(owner)) {
      cached.liveIn = this.port.version
      return cached.pid
    }
    this.cache.delete(name)
    return undefined
  }

  /** Forgets what the cache says of a name (a send found it stale). */
  forget(name: string): void {
    this.cache.delete(name)
  }

  /** Drops cache entries whose owner is no longer live (after a view change). */
  prune(): void {
    for (const [name, cached] of this.cache) {
      if (!isLiveStatus(this.port.memberByKey(cached.ownerKey))) this.cache.delete(name)
    }
    // A suspicion outlives nothing it was about: drop those of nodes no longer in the view as live.
    const live = new Set(this.port.members().filter(isLiveStatus).map(nodeKeyOf))
    for (const key of this.suspects.keys()) if (!live.has(key)) this.suspects.delete(key)
  }
}

/** Decodes a row's options, or says why it cannot run. */
export const travelOf = (entry: Entry): Either.Either<Travel.Travel, string> => Travel.decode(entry.args)
