/**
 * Placement of a spawn by kind (`Cluster.spawnOn`): which live member runs
 * it. The candidates are the `up` members that run the kind and have the
 * role asked for (the spawn's `role`, else the kind's from `kindRoles`),
 * in node id order; a strategy picks one of them, or the spawn fails with
 * `PlacementFailed` saying why none fits.
 *
 * @internal
 */
import { Effect, Random } from "effect"
import { PlacementFailed } from "../../Errors.js"
import type { Member } from "../ClusterStore.js"
import { incarnationKey } from "./directory.js"

/** How a spawn by kind picks its node. */
export type Strategy =
  | "round-robin"
  | "random"
  | "local"
  | "least-load"
  | { readonly node: string }

export const describe = (strategy: Strategy | undefined): string =>
  strategy === undefined ? "rendezvous" : typeof strategy === "string" ? strategy : `node:${strategy.node}`

/** What a placement needs to know of the cluster. */
export interface Context {
  /** The last view's members. */
  readonly members: ReadonlyArray<Member>
  /** This node's incarnation key (`nodeId#epoch`). */
  readonly self: string
  /** The actors a member runs now (least-load); fails when it does not answer. */
  readonly load: (member: Member) => Effect.Effect<number, unknown>
}

/** What placement reads of a member (a `Member`, or what a client was told of one). */
export interface Placeable {
  readonly nodeId: string
  readonly epoch: number
  readonly status: string
  readonly kinds: ReadonlyArray<string>
  readonly roles: ReadonlyArray<string>
}

/** The members that may run `kind` with `role`, in node id order. */
export const candidates = <A extends Placeable>(members: ReadonlyArray<A>, kind: string, role: string | undefined) =>
  members
    .filter((member) =>
      member.status === "up" && member.kinds.includes(kind) && (role === undefined || member.roles.includes(role))
    )
    .sort((a, b) => a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.epoch - b.epoch)

/** One node's round-robin cursor over the candidates. */
export class Cursor {
  private next: number | undefined = undefined

  /** The next candidate: consecutive spawns walk the candidates in node order, starting after this node. */
  take<A extends Placeable>(list: ReadonlyArray<A>, self: string): A | undefined {
    if (list.length === 0) return undefined
    if (this.next === undefined) this.next = Math.max(0, list.findIndex((m) => incarnationKey(m) === self)) + 1
    const member = list[this.next % list.length]
    this.next = (this.next + 1) % list.length
    return member
  }
}

/** Picks the member a spawn of `kind` named `name` goes to. */
export const choose = (
  strategy: Strategy,
  kind: string,
  name: string,
  role: string | undefined,
  context: Context,
  cursor: Cursor
): Effect.Effect<Member, PlacementFailed> => {
  const failed = (reason: string) =>
    new PlacementFailed({ kind, actorName: name, placement: describe(strategy), reason })
  const list = candidates(context.members, kind, role)
  const wanted = role === undefined ? `kind ${kind}` : `kind ${kind} with role ${role}`
  if (list.length === 0) return Effect.fail(failed(`no live member runs ${wanted}`))
  if (typeof strategy === "object") {
    const member = list.find((m) => m.nodeId === strategy.node)
    return member === undefined
      ? Effect.fail(failed(`node ${strategy.node} is not a live member that runs ${wanted}`))
      : Effect.succeed(member)
  }
  switch (strategy) {
    case "local": {
      const member = list.find((m) => incarnationKey(m) === context.self)
      return member === undefined
        ? Effect.fail(failed(`this node does not run ${wanted}`))
        : Effect.succeed(member)
    }
    case "random":
      return Effect.map(Random.nextIntBetween(0, list.length), (i) => list[i] as Member)
    case "round-robin":
      return Effect.succeed(cursor.take(list, context.self) as Member)
    case "least-load":
      return Effect.flatMap(
        Effect.forEach(list, (member) => Effect.option(context.load(member)), { concurrency: "unbounded" }),
        (loads) => {
          let best: Member | undefined
          let bestLoad = Infinity
          loads.forEach((load, i) => {
            if (load._tag === "Some" && load.value < bestLoad) {
              best = list[i]
              bestLoad = load.value
            }
          })
          return best === undefined
            ? Effect.fail(failed(`none of the members that run ${wanted} answered with its load`))
            : Effect.succeed(best)
        }
      )
  }
}
