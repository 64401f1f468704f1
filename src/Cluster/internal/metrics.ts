/**
 * Cluster membership as metrics (`Metrics.clusterMembers`,
 * `Metrics.clusterActive`): updated on each change of the view or of this
 * node's state, never per message.
 *
 * @internal
 */
import { Effect, Metric, type Scope, Stream } from "effect"
import * as Metrics from "../../Metrics.js"
import type * as Membership from "../Membership.js"

const statuses = ["up", "leaving"] as const

export const exportMembership = (membership: Membership.Service, system: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const byStatus = statuses.map((status) =>
      [status, Metrics.clusterMembers.pipe(Metric.tagged("system", system), Metric.tagged("status", status))] as const
    )
    const active = Metrics.clusterActive.pipe(Metric.tagged("system", system))
    yield* membership.view.changes.pipe(
      Stream.runForEach((view) =>
        Effect.sync(() => {
          for (const [status, gauge] of byStatus) {
            gauge.unsafeUpdate(view.members.filter((member) => member.status === status).length, [])
          }
        })
      ),
      Effect.forkScoped
    )
    yield* membership.state.changes.pipe(
      Stream.runForEach((state) => Effect.sync(() => active.unsafeUpdate(state === "up" || state === "leaving" ? 1 : 0, []))),
      Effect.forkScoped
    )
  })
