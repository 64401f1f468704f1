/**
 * The seat of a node in a cluster, from its `Membership`: its incarnation
 * while it is `up` and inside its self-fencing deadline (so a suspended or
 * leaving node gives up what it holds), and the members of its last view.
 *
 * @internal
 */
import { Duration, Effect, Option } from "effect"
import type { Service as Store } from "../ClusterStore.js"
import type * as Membership from "../Membership.js"
import type { Seat } from "./singletonHold.js"

/** How often a node looks again at what it may hold: a handover costs the drain plus about this. */
export const defaultCheckInterval = Duration.millis(250)

export const fromMembership = (
  membership: Membership.Service,
  store: Store,
  checkInterval: Duration.DurationInput = defaultCheckInterval
): Seat => ({
  store,
  self: Effect.gen(function*() {
    if ((yield* membership.state.get) !== "up" || !(yield* membership.active)) return Option.none()
    return Option.some(yield* membership.self.get)
  }),
  members: Effect.map(membership.view.get, (view) => view.members),
  wake: Effect.sleep(checkInterval)
})
