/**
 * Cluster singletons: every node declares `singleton(def, name)`; the oldest
 * live node that has the kind (and the role, if one is asked) holds the
 * name's row and runs the one instance, under the row's fence; every node
 * gets a reference that follows the instance wherever it runs.
 *
 * Keyed by name, not by kind (GoAkt keys them by kind, #1272): two singletons
 * of one kind are two names. The instance moves when its node dies (the next
 * oldest adopts the row once the store has marked the node dead, whatever the
 * stale row says: GoAkt #1036 refused such a takeover) or leaves (it stops
 * the instance, draining its mailbox, gives the row back, and the next oldest
 * claims it on its next look: the drain plus one look, not a lease period).
 * An instance that stops by itself releases its row, and its holder starts a
 * fresh one.
 *
 * @internal
 */
import { Effect, FiberMap, type Scope } from "effect"
import { InvalidArgument, type SpawnError } from "../../Errors.js"
import type * as Pid from "../../Pid.js"
import type { AnyDefinition } from "../../internal/system.js"
import type { Member } from "../ClusterStore.js"
import { hold, oldest, sameIncarnation, type Seat } from "./singletonHold.js"
import { NameRef, type Resolver } from "./singletonRef.js"

/** What a node gives its singletons. */
export interface Host {
  readonly seat: Seat
  /** The node's system name, for the references' addresses. */
  readonly system: string
  /** Reaches the actor that holds a name now, wherever it is. */
  readonly resolver: Resolver
}

/** Options of a singleton. */
export interface SingletonOptions {
  /** Only nodes with this role may run it. */
  readonly role?: string | undefined
}

/** Whether a member may run a singleton of this kind and role. */
export const fits = (kind: string, role: string | undefined) => (member: Member): boolean =>
  member.kinds.includes(kind) && (role === undefined || member.roles.includes(role))

/** The singletons declared on one node. */
export interface Singletons {
  /** Declares a singleton; `spawn` starts its instance here, as the holder of the row with this fence. */
  readonly singleton: (
    def: AnyDefinition,
    name: string,
    options: SingletonOptions | undefined,
    spawn: (fence: number) => Effect.Effect<Pid.Pid, SpawnError>
  ) => Effect.Effect<Pid.Pid, InvalidArgument>
  /** The names declared here. */
  readonly declared: () => ReadonlyArray<string>
}

/** Starts the singletons of a node; closing the scope stops the instances it runs and gives their rows back. */
export const make = (host: Host): Effect.Effect<Singletons, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    const declared = new Map<string, { readonly kind: string; readonly role: string | undefined; readonly ref: Pid.Pid }>()
    const run = (
      def: AnyDefinition,
      name: string,
      role: string | undefined,
      spawn: (fence: number) => Effect.Effect<Pid.Pid, SpawnError>
    ) =>
      hold(
        host.seat,
        { name, kind: def.kind, relocate: false, role },
        (self, members) => {
          const first = oldest(members, fits(def.kind, role))
          return first !== undefined && sameIncarnation(first, self)
        },
        (held) =>
          Effect.acquireRelease(spawn(held.fence), (pid) => pid.stop).pipe(
            Effect.zipRight(Effect.never),
            Effect.scoped
          )
      )
    return {
      singleton: (def, name, options, spawn) =>
        Effect.suspend(() => {
          const existing = declared.get(name)
          if (existing !== undefined) {
            return existing.kind === def.kind && existing.role === options?.role
              ? Effect.succeed(existing.ref)
              : Effect.fail(
                new InvalidArgument({
                  reason: `singleton ${JSON.stringify(name)} is already declared here as kind ${existing.kind}${
                    existing.role === undefined ? "" : ` (role ${existing.role})`
                  }`
                })
              )
          }
          const ref = new NameRef(name, host.system, host.resolver)
          declared.set(name, { kind: def.kind, role: options?.role, ref })
          return Effect.as(FiberMap.run(fibers, name, run(def, name, options?.role, spawn)), ref)
        }),
      declared: () => [...declared.keys()]
    }
  })
