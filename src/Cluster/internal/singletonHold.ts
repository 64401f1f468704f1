/**
 * Holding one directory row the way a singleton does: a node that may hold
 * it claims the row when it is free, adopts it when its owner is `dead` or
 * `left` (taken over, never refused: GoAkt #1036 left a stale key blocking a
 * singleton), runs a body while it holds the row, and stops the body when it
 * loses the row (its incarnation ended, it is suspended or leaving, or the
 * row changed hands). Cluster singletons and the cluster-unique interval and
 * one-shot schedules both sit on it.
 *
 * Every node decides alone from the store and its own view, so there is no
 * leader: two nodes that both think they may hold a row race on `claim` or
 * `adopt`, which the store answers for exactly one of them.
 *
 * @internal
 */
import { Effect, Exit, Option } from "effect"
import type { StoreUnavailable } from "../ClusterError.js"
import type { ClaimRequest, Entry, Incarnation, Member, Service as Store } from "../ClusterStore.js"

/** What a node offers the rows it may hold. */
export interface Seat {
  readonly store: Store
  /**
   * This node's incarnation while it may run cluster work: `None` while it
   * is suspended, leaving, or not joined.
   */
  readonly self: Effect.Effect<Option.Option<Incarnation>>
  /** The members of this node's last membership view. */
  readonly members: Effect.Effect<ReadonlyArray<Member>>
  /** Waits until it is worth looking again: the view changed, or a check interval passed. */
  readonly wake: Effect.Effect<void>
}

/** A row this node holds. */
export interface Held {
  readonly self: Incarnation
  readonly fence: number
  /** The row's `args`: the first holder's, kept by every later one that adopted it. */
  readonly args: Uint8Array | undefined
}

export const sameIncarnation = (a: Incarnation, b: Incarnation): boolean =>
  a.nodeId === b.nodeId && a.epoch === b.epoch

/**
 * The oldest live (`up`) member that `fits` (has the kind, the role): where a
 * singleton runs. Members are compared by `joinedVersion`, which only the
 * store draws, so every node names the same one from the same view.
 */
export const oldest = (
  members: ReadonlyArray<Member>,
  fits: (member: Member) => boolean
): Member | undefined => {
  let best: Member | undefined
  for (const member of members) {
    if (member.status !== "up" || !fits(member)) continue
    if (best === undefined || member.joinedVersion < best.joinedVersion) best = member
  }
  return best
}

/** Takes the row for `self` if it is free or its owner is gone; `None` when a live node holds it. */
const acquire = (
  store: Store,
  self: Incarnation,
  request: ClaimRequest
): Effect.Effect<Option.Option<Held>, StoreUnavailable> =>
  Effect.flatMap(store.lookup([request.name]), (rows): Effect.Effect<Option.Option<Held>, StoreUnavailable> => {
    const row: Entry | undefined = rows.get(request.name)
    if (row === undefined) {
      return Effect.map(store.claim(self, [request]), ([result]) =>
        result?._tag === "Claimed"
          ? Option.some({ self, fence: result.fence, args: request.args })
          : Option.none())
    }
    if (sameIncarnation(row.owner, self)) return Effect.succeed(Option.some({ self, fence: row.fence, args: row.args }))
    if (row.live) return Effect.succeed(Option.none())
    return Effect.map(store.adopt(self, row.owner, [request.name]), ([adopted]) =>
      adopted === undefined ? Option.none() : Option.some({ self, fence: adopted.fence, args: adopted.args }))
  })

/** Completes when the row is no longer this node's: its incarnation changed, or the row did. */
const lost = (seat: Seat, name: string, held: Held): Effect.Effect<void> => {
  const stillMine = Effect.flatMap(seat.self, (self) =>
    Option.isNone(self) || !sameIncarnation(self.value, held.self)
      ? Effect.succeed(false)
      : seat.store.lookup([name]).pipe(
        Effect.map((rows) => {
          const row = rows.get(name)
          return row !== undefined && row.fence === held.fence && sameIncarnation(row.owner, held.self)
        }),
        // The store not answering is membership's business: it suspends the node in time.
        Effect.orElseSucceed(() => true)
      ))
  return Effect.zipRight(seat.wake, stillMine).pipe(Effect.repeat({ while: (mine) => mine }), Effect.asVoid)
}

/**
 * Holds the row of `request.name` whenever `eligible` says this node may,
 * running `body` while it does; answers `body`'s result (the row stays held:
 * a finished one-shot keeps it as its tombstone). A body cut short (the row
 * was lost, the body failed, or the fiber was interrupted) gives the row back
 * (fenced, so a row someone else took stays theirs) and, unless interrupted,
 * waits to hold it again.
 */
export const hold = <A, E>(
  seat: Seat,
  request: ClaimRequest,
  eligible: (self: Incarnation, members: ReadonlyArray<Member>) => boolean,
  body: (held: Held) => Effect.Effect<A, E>
): Effect.Effect<A> => {
  const release = (held: Held) => Effect.ignore(seat.store.release(request.name, held.fence))
  const attemptBody = (held: Held): Effect.Effect<Option.Option<A>> =>
    Effect.matchCauseEffect(body(held), {
      onSuccess: (a) => Effect.succeed(Option.some(a)),
      onFailure: (cause) =>
        Effect.as(
          Effect.logWarning("cluster: could not run what this node holds; giving it back", cause).pipe(
            Effect.annotateLogs({ name: request.name })
          ),
          Option.none()
        )
    })
  const run = (held: Held): Effect.Effect<Option.Option<A>> =>
    Effect.raceFirst(
      attemptBody(held),
      Effect.as(lost(seat, request.name, held), Option.none<A>())
    ).pipe(
      Effect.onExit((exit) => Exit.isSuccess(exit) && Option.isSome(exit.value) ? Effect.void : release(held))
    )
  const attempt: Effect.Effect<Option.Option<A>> = Effect.flatMap(seat.self, (self) => {
    if (Option.isNone(self)) return Effect.succeed(Option.none())
    return Effect.flatMap(seat.members, (members) =>
      eligible(self.value, members)
        ? acquire(seat.store, self.value, request).pipe(
          Effect.orElseSucceed(() => Option.none<Held>()),
          Effect.flatMap((held) => Option.isNone(held) ? Effect.succeed(Option.none<A>()) : run(held.value))
        )
        : Effect.succeed(Option.none()))
  })
  const loop: Effect.Effect<A> = Effect.flatMap(
    attempt,
    (done) => Option.isSome(done) ? Effect.succeed(done.value) : Effect.zipRight(seat.wake, loop)
  )
  return loop
}
