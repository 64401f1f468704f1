/**
 * Redeployment, pull-based and leaderless. When an incarnation is `dead` or
 * `left`, every survivor runs the same pass over its remaining rows:
 *
 * 1. rows with `relocate = false` are deleted (fenced);
 * 2. each other row's target is picked by rendezvous hashing over the `up`
 *    members that registered its kind (and have its role): every survivor
 *    computes the same targets from the same view, without talking;
 * 3. a survivor adopts only its own targets, 500 per statement, guarded by
 *    the dead owner's node and epoch, so each row is adopted exactly once
 *    even when views differ for a moment; then spawns them with fresh state,
 *    `preStart` run, under the fence the adoption drew;
 * 4. a row still orphaned `claimTimeout` after this node first saw it (its
 *    target died too, or lags) is adopted by whoever gets there first;
 * 5. a row no live node can run is reported (`RedeployFailed`) and stays:
 *    the pass runs again on every view change, so a node that joins with the
 *    kind adopts it.
 *
 * Reconcile compares the actor rows this incarnation owns (not the
 * `schedule:` rows its scheduler holds) with the local registry:
 * a row without its actor (twice in a row, so a spawn in flight is not
 * mistaken for one) is spawned again, or released if this node cannot run
 * its kind; a local cluster actor whose row is gone or moved is stopped.
 *
 * @internal
 */
import { Duration, Effect, Either } from "effect"
import * as Events from "../../EventStream.js"
import type { Cell } from "../../internal/cell.js"
import type { AnyDefinition } from "../../internal/system.js"
import type { StoreUnavailable } from "../ClusterError.js"
import type { Entry, Incarnation, Member } from "../ClusterStore.js"
import { AdoptedRequest, type Directory, incarnationKey, isLiveStatus, sameIncarnation } from "./directory.js"
import type { Placement } from "./rendezvous.js"
import * as Travel from "./travel.js"

/**
 * Whether a directory row is an actor's: actor names never contain `:`, so
 * rows such as `schedule:<reference>` are held by something else (the
 * cluster scheduler) and reconcile must leave them alone.
 */
export const isActorName = (name: string): boolean => !name.includes(":")

/** Rows per adopt statement. */
const adoptBatch = 500

export interface RedeploySettings {
  /** Leftovers are adopted by anyone after this long. */
  readonly claimTimeout: Duration.Duration
}

export class Redeployer {
  /** Incarnations known to hold no rows any more (dead never gets new rows). */
  private readonly drained = new Set<string>()
  /** When this node first saw each orphan (local clock), for the claim timeout. */
  private readonly firstSeen = new Map<string, number>()
  /** Orphans already reported as not redeployable (reported once until the view changes). */
  private readonly reported = new Set<string>()
  private reportedAt = -1
  /** Names owned here without a running actor at the last reconcile. */
  private missing = new Set<string>()

  constructor(
    readonly directory: Directory,
    readonly placement: Placement,
    readonly settings: RedeploySettings,
    private readonly now: () => number
  ) {}

  private get impl() {
    return this.directory.impl
  }

  /** One pass over every dead or left incarnation that may still hold rows. */
  readonly pass: Effect.Effect<void, StoreUnavailable> = Effect.suspend(() => {
    const view = this.directory.port
    if (view.suspended) return Effect.void
    if (this.reportedAt !== view.version) {
      this.reported.clear()
      this.reportedAt = view.version
    }
    const gone = view.members().filter((member) =>
      !isLiveStatus(member) && !this.drained.has(incarnationKey(member))
    )
    return Effect.forEach(gone, (member) => this.redeployFrom(member), { discard: true })
  })

  private redeployFrom(from: Member): Effect.Effect<void, StoreUnavailable> {
    const store = this.directory.store
    const origin: Incarnation = { nodeId: from.nodeId, epoch: from.epoch }
    return Effect.flatMap(store.owned(origin), (rows) => {
      if (rows.length === 0) {
        this.drained.add(incarnationKey(origin))
        return Effect.void
      }
      const self = this.directory.port.self
      const up = this.directory.port.members().filter((member) => member.status === "up")
      const mine: Array<Entry> = []
      const dropped: Array<Entry> = []
      const now = this.now()
      const timeout = Duration.toMillis(this.settings.claimTimeout)
      for (const row of rows) {
        if (!row.relocate) {
          dropped.push(row)
          continue
        }
        const candidates = up.filter((member) =>
          member.kinds.includes(row.kind) && (row.role === undefined || member.roles.includes(row.role))
        )
        if (candidates.length === 0) {
          this.report(origin, row, `no live node runs kind ${row.kind}${row.role === undefined ? "" : ` with role ${row.role}`}`)
          continue
        }
        const target = this.placement.pick(row.name, candidates.map(incarnationKey))
        const seen = this.firstSeen.get(row.name) ?? now
        this.firstSeen.set(row.name, seen)
        const canRun = this.directory.kinds.has(row.kind) &&
          (row.role === undefined || candidates.some((member) => sameIncarnation(member, self)))
        if (canRun && (target === incarnationKey(self) || now - seen >= timeout)) mine.push(row)
      }
      return Effect.zipRight(
        Effect.forEach(dropped, (row) => Effect.ignore(store.release(row.name, row.fence)), { discard: true }),
        mine.length === 0 ? Effect.void : this.adopt(origin, mine)
      )
    })
  }

  private report(from: Incarnation, row: Entry, reason: string): void {
    if (this.reported.has(row.name)) return
    this.reported.add(row.name)
    this.impl.publish(
      new Events.RedeployFailed({ from: { nodeId: from.nodeId, epoch: from.epoch }, name: row.name, kind: row.kind, reason })
    )
  }

  private adopt(from: Incarnation, rows: ReadonlyArray<Entry>): Effect.Effect<void, StoreUnavailable> {
    const origin = { nodeId: from.nodeId, epoch: from.epoch }
    this.impl.publish(new Events.RedeployStarted({ from: origin, count: rows.length }))
    const batches: Array<ReadonlyArray<Entry>> = []
    for (let i = 0; i < rows.length; i += adoptBatch) batches.push(rows.slice(i, i + adoptBatch))
    return Effect.forEach(batches, (batch) =>
      Effect.flatMap(
        this.directory.store.adopt(this.directory.port.self, from, batch.map((row) => row.name)),
        (adopted) =>
          Effect.flatMap(
            Effect.forEach(adopted, (entry) => this.start(from, entry), { concurrency: 64 }),
            (started) =>
              Effect.sync(() => {
                for (const row of batch) this.firstSeen.delete(row.name)
                const names = started.filter((name): name is string => name !== undefined)
                this.impl.publish(new Events.RedeployFinished({ from: origin, names }))
              })
          )
      ), { discard: true })
  }

  /** Spawns an adopted (or re-owned) row here; its name, or undefined when it failed (reported). */
  start(from: Incarnation, entry: Entry): Effect.Effect<string | undefined> {
    const def: AnyDefinition | undefined = this.directory.kinds.get(entry.kind)
    const travel = Travel.decode(entry.args)
    const fail = (reason: string) =>
      Effect.sync(() => {
        this.impl.publish(
          new Events.RedeployFailed({
            from: { nodeId: from.nodeId, epoch: from.epoch },
            name: entry.name,
            kind: entry.kind,
            reason
          })
        )
        return undefined
      })
    if (def === undefined) return fail(`kind ${entry.kind} is not registered on ${this.directory.port.self.nodeId}`)
    if (Either.isLeft(travel)) return fail(`its spawn options do not decode: ${travel.left}`)
    return Effect.matchEffect(
      this.impl.spawn(
        def,
        entry.name,
        Travel.toSpawnOptions(travel.right),
        undefined,
        new AdoptedRequest(entry.fence)
      ) as unknown as Effect.Effect<unknown, { readonly message: string }>,
      {
        onFailure: (error) => fail(`spawn failed: ${error.message}`),
        onSuccess: () => Effect.succeed(entry.name)
      }
    )
  }

  /** Owned rows against the local registry: respawn the missing, stop the zombies. */
  readonly reconcile: Effect.Effect<void, StoreUnavailable> = Effect.suspend(() => {
    const view = this.directory.port
    if (view.suspended) return Effect.void
    const self = view.self
    // The cells running BEFORE the read: each one's claim committed before it started, so the read
    // sees its row. A cell spawned while the read is in flight is not judged by a read that began
    // before its claim (it would look like a zombie and be stopped).
    const running = this.directory.running()
    return Effect.flatMap(this.directory.store.owned(self), (rows) => {
      if (!sameIncarnation(self, view.self)) return Effect.void
      const byName = new Map(rows.map((row) => [row.name, row]))
      const zombies: Array<Cell> = []
      for (const [cell, fence] of running) {
        if (this.directory.fence(cell) === fence && byName.get(cell.name)?.fence !== fence) zombies.push(cell)
      }
      const missing = new Set<string>()
      const respawn: Array<Entry> = []
      const release: Array<Entry> = []
      for (const row of rows) {
        // `schedule:…` (and other prefixed) rows have no actor here: their holders keep them.
        if (!isActorName(row.name)) continue
        const cell = this.impl.lookup(row.name)
        if (cell !== undefined && this.directory.fence(cell) === row.fence) continue
        if (!this.missing.has(row.name)) {
          missing.add(row.name)
          continue
        }
        if (this.directory.kinds.has(row.kind) && cell === undefined) respawn.push(row)
        else if (cell === undefined) release.push(row)
      }
      this.missing = missing
      return Effect.all([
        Effect.forEach(zombies, (cell) => this.directory.stopKeepingRow(cell, false), { discard: true }),
        Effect.forEach(release, (row) => Effect.ignore(this.directory.store.release(row.name, row.fence)), {
          discard: true
        }),
        Effect.forEach(respawn, (row) => this.start(self, row), { discard: true })
      ], { discard: true })
    })
  })
}
