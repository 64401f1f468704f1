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

/**
 * A discovery provider's configuration does not decode: `field` names the
 * offending field (a dotted path, e.g. `port` or `servers.1`), `reason` says
 * what was expected. Raised when the provider's layer is built, before any
 * network traffic.
 *
 * @example
 * ```ts
 * Discovery.Dns.layer({ name: "nodes.shop.local", type: "A", port: 70000 })
 * // fails with DiscoveryConfigInvalid: discovery (dns) config field "port": Expected ... 65535 ...
 * ```
 * @since 0.1.0
 * @category errors
 */
export class DiscoveryConfigInvalid extends Schema.TaggedError<DiscoveryConfigInvalid>()("DiscoveryConfigInvalid", {
  provider: Schema.String,
  field: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `discovery (${this.provider}) config field "${this.field}": ${this.reason}`
  }
}

/**
 * A discovery provider needs an optional peer dependency that is not
 * installed (`@nats-io/transport-node` for NATS, `multicast-dns` for mDNS).
 * Static, DNS and Kubernetes discovery never need one.
 *
 * @example
 * ```ts
 * new DiscoveryPackageMissing({ provider: "nats", package: "@nats-io/transport-node", reason: "Cannot find package" })
 * // message: discovery (nats) needs the package "@nats-io/transport-node": npm install @nats-io/transport-node
 * ```
 * @since 0.1.0
 * @category errors
 */
export class DiscoveryPackageMissing extends Schema.TaggedError<DiscoveryPackageMissing>()("DiscoveryPackageMissing", {
  provider: Schema.String,
  package: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `discovery (${this.provider}) needs the package "${this.package}": npm install ${this.package} (${this.reason})`
  }
}
