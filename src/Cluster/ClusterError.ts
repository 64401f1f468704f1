/**
 * The failures of the cluster layer a caller can act on, as
 * `Schema.TaggedError`s (serialisable, so they can cross the wire).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * The cluster store could not answer (connection lost, timeout, lock
 * contention that outlasted the retries, a malformed database). The only
 * error of `ClusterStore`: callers treat it as "outcome unknown" and rely on
 * leases and fences, never on the absence of a write.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { ClusterStore } from "effect-actors"
 *
 * const renewed = (store: ClusterStore.Service, self: ClusterStore.Incarnation) =>
 *   store.renew(self, 5000).pipe(Effect.catchTag("StoreUnavailable", () => Effect.succeed(false)))
 * ```
 * @since 0.1.0
 * @category errors
 */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `cluster store unavailable during ${this.operation}: ${this.reason}`
  }
}

/**
 * A discovery provider could not answer. Discovery only finds peers, so this
 * never changes who is alive: membership logs it and goes on.
 *
 * @example
 * ```ts
 * new DiscoveryUnavailable({ provider: "dns", reason: "SERVFAIL" })
 * ```
 * @since 0.1.0
 * @category errors
 */
export class DiscoveryUnavailable extends Schema.TaggedError<DiscoveryUnavailable>()("DiscoveryUnavailable", {
  provider: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `discovery (${this.provider}) unavailable: ${this.reason}`
  }
}
