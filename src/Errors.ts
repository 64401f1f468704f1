/**
 * Every failure a caller can act on, as a `Schema.TaggedError`: plain data
 * that names the actor (its address or name) and, where a message was
 * involved, the message's tag, with a `message` that reads well in a log
 * (`MailboxFull: mailbox of actor effect-actors://shop/cart is full (capacity
 * 1000) for message Increment`). Being Schemas, they cross the wire as
 * themselves: remoting encodes and decodes them with `Errors.ActorError`.
 *
 * @example
 * ```ts
 * import { Errors } from "effect-actors"
 * const error = new Errors.MailboxFull({ address: "effect-actors://shop/cart", messageTag: "Increment", capacity: 1000 })
 * String(error) // "MailboxFull: mailbox of actor effect-actors://shop/cart is full (capacity 1000) for message Increment"
 * ```
 * @since 0.1.0
 */
import { Schema } from "effect"

/** `actor <address>`, or `an actor` when the address is unknown (errors built before one exists). */
const actor = (address: string): string => address === "" ? "an actor" : `actor ${address}`

/** ` for message <tag>`, or nothing when no message was involved. */
const forMessage = (tag: string | undefined): string => tag === undefined || tag === "" ? "" : ` for message ${tag}`

/**
 * An actor or system name that does not match `[A-Za-z0-9][A-Za-z0-9_.~-]*`
 * (at most 255 characters).
 *
 * @example
 * ```ts
 * // system.spawn(Counter, "bad name!") fails with
 * // InvalidName: invalid name "bad name!": must match [A-Za-z0-9][A-Za-z0-9_.~-]*
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidName extends Schema.TaggedError<InvalidName>()("InvalidName", {
  /** The name that was refused (an actor's or a system's). */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid name ${JSON.stringify(this.value)}: ${this.reason}`
  }
}

/**
 * The name is already held by a live actor among its siblings (or, for a
 * top-level actor, in the system). We refuse rather than hand back the
 * existing PID: the existing actor may be of another kind, and a silent reuse
 * hides bugs. Use `lookup` first when "get or spawn" is what you mean.
 *
 * @example
 * ```ts
 * // NameTaken: name "counter" is taken by actor effect-actors://shop/counter
 * ```
 * @since 0.1.0
 * @category errors
 */
export class NameTaken extends Schema.TaggedError<NameTaken>()("NameTaken", {
  actorName: Schema.String,
  address: Schema.String,
  /** In a cluster, the node (`nodeId`) whose actor holds the name. */
  node: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const node = this.node === undefined ? "" : ` on node ${this.node}`
    return `name ${JSON.stringify(this.actorName)} is taken by ${actor(this.address)}${node}`
  }
}

/**
 * The target actor has stopped (or is stopping) and accepts no new message.
 * The message was published as a deadletter.
 *
 * @example
 * ```ts
 * // ActorStopped: actor effect-actors://shop/counter has stopped; refused message Increment
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ActorStopped extends Schema.TaggedError<ActorStopped>()("ActorStopped", {
  address: Schema.String,
  messageTag: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const tag = this.messageTag
    return `${actor(this.address)} has stopped${tag === undefined || tag === "" ? "" : `; refused message ${tag}`}`
  }
}

/**
 * No live actor has that name (a lookup, or a call through a remote PID
 * whose actor is gone).
 *
 * @example
 * ```ts
 * // ActorNotFound: no live actor named "cart-7"
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ActorNotFound extends Schema.TaggedError<ActorNotFound>()("ActorNotFound", {
  /** The name (or `parent/child` path) that was looked for. */
  actorName: Schema.String
}) {
  override get message(): string {
    return `no live actor named ${JSON.stringify(this.actorName)}`
  }
}

/**
 * An ask received no reply within its timeout. The request was published as
 * a deadletter; a late reply is dropped.
 *
 * @example
 * ```ts
 * // AskTimeout: actor effect-actors://shop/counter did not reply to GetCount within 5000 ms
 * ```
 * @since 0.1.0
 * @category errors
 */
export class AskTimeout extends Schema.TaggedError<AskTimeout>()("AskTimeout", {
  address: Schema.String,
  messageTag: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message(): string {
    return `${actor(this.address)} did not reply to ${this.messageTag} within ${this.timeoutMillis} ms`
  }
}

/**
 * A bounded mailbox was full. A tell was published as a deadletter; an ask
 * fails at once with this error.
 *
 * @example
 * ```ts
 * // MailboxFull: mailbox of actor effect-actors://shop/counter is full (capacity 1000) for message Increment
 * ```
 * @since 0.1.0
 * @category errors
 */
export class MailboxFull extends Schema.TaggedError<MailboxFull>()("MailboxFull", {
  address: Schema.String,
  messageTag: Schema.String,
  capacity: Schema.Number
}) {
  override get message(): string {
    return `mailbox of ${actor(this.address)} is full (capacity ${this.capacity})${forMessage(this.messageTag)}`
  }
}

/**
 * A message whose tag is not part of the actor's protocol arrived through an
 * untyped PID (typed PIDs make this a compile error).
 *
 * @example
 * ```ts
 * // UnknownMessage: actor effect-actors://shop/counter does not accept message Reset
 * ```
 * @since 0.1.0
 * @category errors
 */
export class UnknownMessage extends Schema.TaggedError<UnknownMessage>()("UnknownMessage", {
  address: Schema.String,
  messageTag: Schema.String
}) {
  override get message(): string {
    return `${actor(this.address)} does not accept message ${this.messageTag}`
  }
}

/**
 * An argument is out of its range (for example a non-positive ask timeout).
 *
 * @example
 * ```ts
 * // InvalidArgument: ask timeout must be positive, got 0 ms
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/**
 * The actor's `preStart` (or its initial state) failed: nothing was
 * registered. `cause` is what failed (a `Cause` locally; its rendering when
 * the error came from another node, since a `Cause` does not cross the wire).
 *
 * @example
 * ```ts
 * // SpawnFailed: spawning actor "db" failed: preStart failed
 * ```
 * @since 0.1.0
 * @category errors
 */
export class SpawnFailed extends Schema.TaggedError<SpawnFailed>()("SpawnFailed", {
  actorName: Schema.String,
  reason: Schema.String,
  cause: Schema.Defect
}) {
  override get message(): string {
    return `spawning actor ${JSON.stringify(this.actorName)} failed: ${this.reason}`
  }
}

/**
 * The handler failed (outside the request's own failure schema) or the actor
 * stopped while an ask was waiting for its reply. The failure itself went to
 * the supervisor.
 *
 * @example
 * ```ts
 * // AskFailed: ask GetCount to actor effect-actors://shop/counter failed: the handler died
 * ```
 * @since 0.1.0
 * @category errors
 */
export class AskFailed extends Schema.TaggedError<AskFailed>()("AskFailed", {
  address: Schema.String,
  messageTag: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `ask ${this.messageTag} to ${actor(this.address)} failed: ${this.reason}`
  }
}

/**
 * One request of a `batchAsk` failed: `index` says which, `error` why. The
 * replies of the others are dropped. `error` is the request's own failure or
 * one of ours; it stays on the node that asked (a batch is never sent as
 * one), so this error is not part of `ActorError`.
 *
 * @example
 * ```ts
 * // BatchAskFailed: request 2 of a batchAsk failed: AskTimeout: actor ... did not reply to GetCount within 5000 ms
 * ```
 * @since 0.1.0
 * @category errors
 */
export class BatchAskFailed<E = unknown> extends Schema.TaggedError<BatchAskFailed>()("BatchAskFailed", {
  index: Schema.Number,
  error: Schema.Unknown
}) {
  declare readonly error: E

  override get message(): string {
    return `request ${this.index} of a batchAsk failed: ${String(this.error)}`
  }
}

/**
 * `stash` was called with the stash already at its capacity. The failure goes
 * to the actor's supervisor like any other.
 *
 * @example
 * ```ts
 * // StashFull: stash of actor effect-actors://shop/cart is full (capacity 100)
 * ```
 * @since 0.1.0
 * @category errors
 */
export class StashFull extends Schema.TaggedError<StashFull>()("StashFull", {
  address: Schema.String,
  capacity: Schema.Number
}) {
  override get message(): string {
    return `stash of ${actor(this.address)} is full (capacity ${this.capacity})`
  }
}

/**
 * A remote spawn named a kind the target system has not registered (see
 * `Remoting.layer({ kinds })`): only registered kinds can be spawned from
 * another node, and only their protocols can be decoded there.
 *
 * @example
 * ```ts
 * // remoting.spawn({ host, port }, "Unknown", "x") fails with
 * // KindNotRegistered: kind Unknown is not registered on node 127.0.0.1:4000
 * ```
 * @since 0.1.0
 * @category errors
 */
export class KindNotRegistered extends Schema.TaggedError<KindNotRegistered>()("KindNotRegistered", {
  kind: Schema.String,
  node: Schema.String
}) {
  override get message(): string {
    return `kind ${this.kind} is not registered on node ${this.node}`
  }
}

/**
 * A message (or a reply, or a frame) could not be encoded for the wire or
 * decoded from it: an unknown tag, a payload that fails its Schema, malformed
 * bytes. Where a message was undeliverable it is also a deadletter on the
 * receiving node.
 *
 * @example
 * ```ts
 * // a remote tell of a message the target's protocol does not decode fails
 * // the next ask with DecodeError and publishes a deadletter on the target:
 * // DecodeError: cannot decode message Increment for actor effect-actors://...: unknown message tag Increment
 * ```
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Schema.TaggedError<DecodeError>()("DecodeError", {
  address: Schema.String,
  messageTag: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    const what = this.messageTag === "" ? "a frame" : `message ${this.messageTag}`
    const to = this.address === "" ? "" : ` for ${actor(this.address)}`
    return `cannot encode or decode ${what}${to}: ${this.reason}`
  }
}

/**
 * The remote node did not answer: refused connection, broken socket, or a
 * node that went down with calls in flight. Calls in flight fail with it and
 * are not resent.
 *
 * @example
 * ```ts
 * // yield* remotePid.ask(new Ping()) fails, when the node is down, with
 * // NodeUnreachable: node 127.0.0.1:4000 is unreachable: connect ECONNREFUSED
 * ```
 * @since 0.1.0
 * @category errors
 */
export class NodeUnreachable extends Schema.TaggedError<NodeUnreachable>()("NodeUnreachable", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `node ${this.node} is unreachable: ${this.reason}`
  }
}

/**
 * The remote node refused the call: the shared token was missing or wrong.
 *
 * @example
 * ```ts
 * // a RemoteClient without the node's token gets, on every call,
 * // Unauthorized: node 127.0.0.1:4000 refused the call: missing or wrong token
 * ```
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  node: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `node ${this.node} refused the call: ${this.reason}`
  }
}

/**
 * A `TestKit` probe's expectation failed. `expected` and `received` are
 * stable one-line renderings; `differences` lists the fields that differ when
 * both are values of the same tag; `message` puts it all together for the
 * test report.
 *
 * @example
 * ```ts
 * // yield* probe.expectMessage(new Pong({ n: 1 })) after receiving Pong { n: 2 } fails with:
 * // expectMessage failed on probe-1
 * //   expected: Pong { n: 1 }
 * //   received: Pong { n: 2 }
 * //   differences:
 * //     n: expected 1, received 2
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ExpectationFailed extends Schema.TaggedError<ExpectationFailed>()("ExpectationFailed", {
  /** The probe's name. */
  probe: Schema.String,
  /** Which expectation failed (`expectMessage`, ...). */
  expectation: Schema.String,
  expected: Schema.String,
  received: Schema.String,
  differences: Schema.Array(Schema.String),
  /** All of the above, readable. */
  message: Schema.String
}) {}

/**
 * This node is suspended from its cluster: it could not renew its lease in
 * time, so it runs no cluster actor and takes no name until it renews (or
 * rejoins under a new epoch). A spawn of a cluster name fails with it: try
 * again later, or on another node.
 *
 * @example
 * ```ts
 * // ClusterSuspended: node node-a is suspended from its cluster; refused to spawn "counter"
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ClusterSuspended extends Schema.TaggedError<ClusterSuspended>()("ClusterSuspended", {
  node: Schema.String,
  actorName: Schema.optional(Schema.String)
}) {
  override get message(): string {
    const name = this.actorName === undefined ? "" : `; refused to spawn ${JSON.stringify(this.actorName)}`
    return `node ${this.node} is suspended from its cluster${name}`
  }
}

/**
 * A node refused to activate one more grain (virtual actor): it already
 * holds `limit` resident grains (`Cluster.Options.grains.maxResident`). The
 * message was not processed: try again after a while (idle grains
 * passivate), or spread the load over more nodes. Asks fail with it; a tell
 * that reached another node's cap is a deadletter there.
 *
 * @example
 * ```ts
 * // TooManyGrains: node node-a holds 10000 grains (its limit); refused to activate Cart/42
 * ```
 * @since 0.1.0
 * @category errors
 */
export class TooManyGrains extends Schema.TaggedError<TooManyGrains>()("TooManyGrains", {
  node: Schema.String,
  grain: Schema.String,
  limit: Schema.Number
}) {
  override get message(): string {
    return `node ${this.node} holds ${this.limit} grains (its limit); refused to activate ${this.grain}`
  }
}

/**
 * The grain is active on another node: the node that was asked holds no
 * activation of it and answers where it lives. A grain reference follows
 * it (at most 3 hops) and remembers it, so callers rarely see this error.
 *
 * @example
 * ```ts
 * // GrainMoved: grain Cart/42 is active on node node-b (effect-actors://b@127.0.0.1:4001/~Cart~~42)
 * ```
 * @since 0.1.0
 * @category errors
 */
export class GrainMoved extends Schema.TaggedError<GrainMoved>()("GrainMoved", {
  grain: Schema.String,
  node: Schema.String,
  /** The address of the activation. */
  address: Schema.String
}) {
  override get message(): string {
    return `grain ${this.grain} is active on node ${this.node} (${this.address})`
  }
}

/**
 * No live node of the cluster satisfies a placement: no member runs the
 * kind (with the role asked), or the named node is not a live member that
 * runs it.
 *
 * @example
 * ```ts
 * // PlacementFailed: no live node can run kind Worker for "w-1" (placement node:node-z): node-z is not a live member
 * ```
 * @since 0.1.0
 * @category errors
 */
export class PlacementFailed extends Schema.TaggedError<PlacementFailed>()("PlacementFailed", {
  kind: Schema.String,
  actorName: Schema.String,
  placement: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `no live node can run kind ${this.kind} for ${JSON.stringify(this.actorName)} (placement ${this.placement}): ${this.reason}`
  }
}

/**
 * Errors a spawn can fail with (`ClusterSuspended` only in a cluster).
 *
 * @since 0.1.0
 * @category errors
 */
export type SpawnError = InvalidName | NameTaken | SpawnFailed | ActorStopped | ClusterSuspended

/**
 * Errors any call to another node can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type RemoteError = NodeUnreachable | DecodeError | Unauthorized

/**
 * Errors a tell can fail with (`RemoteError` only through the PID of an
 * actor on another node).
 *
 * @since 0.1.0
 * @category errors
 */
export type TellError = ActorStopped | MailboxFull | RemoteError

/**
 * Errors an ask can fail with, besides the request's own failure type
 * (`RemoteError` and `ActorNotFound` only through the PID of an actor on
 * another node: the node answers `ActorNotFound` when no actor holds that
 * address any more).
 *
 * @since 0.1.0
 * @category errors
 */
export type AskError =
  | ActorStopped
  | MailboxFull
  | AskTimeout
  | AskFailed
  | InvalidArgument
  | ActorNotFound
  | RemoteError

/**
 * The Schema of every framework error that can cross the wire (all of this
 * module's errors but `BatchAskFailed`, whose inner error has no schema of
 * its own). Remoting encodes failures with it and decodes them back into the
 * same classes, so a caller on another node can `Effect.catchTag` them.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Errors } from "effect-actors"
 * const encoded = Schema.encodeSync(Errors.ActorError)(new Errors.ActorNotFound({ actorName: "cart" }))
 * // { _tag: "ActorNotFound", name: "cart" }
 * const back = Schema.decodeUnknownSync(Errors.ActorError)(encoded) // an ActorNotFound again
 * ```
 * @since 0.1.0
 * @category schemas
 */
export const ActorError = Schema.Union(
  InvalidName,
  NameTaken,
  ActorStopped,
  ActorNotFound,
  AskTimeout,
  MailboxFull,
  UnknownMessage,
  InvalidArgument,
  SpawnFailed,
  AskFailed,
  StashFull,
  KindNotRegistered,
  DecodeError,
  NodeUnreachable,
  Unauthorized,
  ExpectationFailed,
  ClusterSuspended,
  TooManyGrains,
  GrainMoved,
  PlacementFailed
)

/**
 * Any framework error that can cross the wire.
 *
 * @since 0.1.0
 * @category errors
 */
export type ActorError = typeof ActorError.Type

/**
 * Whether a value is one of the framework's errors that cross the wire (as
 * opposed to a request's own typed failure).
 *
 * @example
 * ```ts
 * import { Errors } from "effect-actors"
 * Errors.isActorError(new Errors.ActorNotFound({ actorName: "x" })) // true
 * ```
 * @since 0.1.0
 * @category guards
 */
export const isActorError: (u: unknown) => u is ActorError = Schema.is(ActorError)
