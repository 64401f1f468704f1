/**
 * Every failure a caller can act on, as a `Data.TaggedError`. Each carries the
 * actor address (or name) and, where a message was involved, its tag.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * An actor or system name that does not match `[A-Za-z0-9][A-Za-z0-9_.~-]*`
 * (at most 255 characters).
 *
 * @example
 * ```ts
 * // system.spawn(Counter, "bad name!") fails with InvalidName
 * ```
 * @since 0.1.0
 * @category errors
 */
export class InvalidName extends Data.TaggedError("InvalidName")<{
  readonly name: string
  readonly reason: string
}> {}

/**
 * The name is already held by a live actor among its siblings (or, for a
 * top-level actor, in the system). We refuse rather than hand back the
 * existing PID: the existing actor may be of another kind, and a silent reuse
 * hides bugs. Use `lookup` first when "get or spawn" is what you mean.
 *
 * @since 0.1.0
 * @category errors
 */
export class NameTaken extends Data.TaggedError("NameTaken")<{
  readonly name: string
  readonly address: string
  /** In a cluster, the node (`nodeId`) whose actor holds the name. */
  readonly node?: string
}> {}

/**
 * The target actor has stopped (or is stopping) and accepts no new message.
 * The message was published as a deadletter.
 *
 * @since 0.1.0
 * @category errors
 */
export class ActorStopped extends Data.TaggedError("ActorStopped")<{
  readonly address: string
  readonly messageTag?: string
}> {}

/**
 * No live actor has that name.
 *
 * @since 0.1.0
 * @category errors
 */
export class ActorNotFound extends Data.TaggedError("ActorNotFound")<{
  readonly name: string
}> {}

/**
 * An ask received no reply within its timeout. The request was published as
 * a deadletter; a late reply is dropped.
 *
 * @since 0.1.0
 * @category errors
 */
export class AskTimeout extends Data.TaggedError("AskTimeout")<{
  readonly address: string
  readonly messageTag: string
  readonly timeoutMillis: number
}> {}

/**
 * A bounded mailbox was full. A tell was published as a deadletter; an ask
 * fails at once with this error.
 *
 * @since 0.1.0
 * @category errors
 */
export class MailboxFull extends Data.TaggedError("MailboxFull")<{
  readonly address: string
  readonly messageTag: string
  readonly capacity: number
}> {}

/**
 * A message whose tag is not part of the actor's protocol arrived through an
 * untyped PID (typed PIDs make this a compile error).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownMessage extends Data.TaggedError("UnknownMessage")<{
  readonly address: string
  readonly messageTag: string
}> {}

/**
 * An argument is out of its range (for example a non-positive ask timeout).
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly reason: string
}> {}

/**
 * The actor's `preStart` failed: nothing was registered.
 *
 * @since 0.1.0
 * @category errors
 */
export class SpawnFailed extends Data.TaggedError("SpawnFailed")<{
  readonly name: string
  readonly reason: string
  readonly cause: unknown
}> {}

/**
 * The handler failed (outside the request's own failure schema) or the actor
 * stopped while an ask was waiting for its reply. The failure itself went to
 * the supervisor.
 *
 * @since 0.1.0
 * @category errors
 */
export class AskFailed extends Data.TaggedError("AskFailed")<{
  readonly address: string
  readonly messageTag: string
  readonly reason: string
}> {}

/**
 * Errors a spawn can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type SpawnError = InvalidName | NameTaken | SpawnFailed | ActorStopped | ClusterSuspended

/**
 * This node is suspended from its cluster: it could not renew its lease in
 * time, so it runs no cluster actor and takes no name until it renews (or
 * rejoins under a new epoch). A spawn of a cluster name fails with it; try
 * again later, or on another node.
 *
 * @example
 * ```ts
 * // Cluster.spawn(Counter, "counter") while the store is unreachable fails with
 * // ClusterSuspended { node: "node-a" }
 * ```
 * @since 0.1.0
 * @category errors
 */
export class ClusterSuspended extends Data.TaggedError("ClusterSuspended")<{
  readonly node: string
  readonly name?: string
}> {}

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
 * (`RemoteError` only through the PID of an actor on another node).
 *
 * @since 0.1.0
 * @category errors
 */
export type AskError = ActorStopped | MailboxFull | AskTimeout | AskFailed | InvalidArgument | RemoteError

/**
 * One request of a `batchAsk` failed: `index` says which, `error` why. The
 * replies of the others are dropped.
 *
 * @since 0.1.0
 * @category errors
 */
export class BatchAskFailed<E> extends Data.TaggedError("BatchAskFailed")<{
  readonly index: number
  readonly error: E
}> {}

/**
 * `stash` was called with the stash already at its capacity. The failure goes
 * to the actor's supervisor like any other.
 *
 * @since 0.1.0
 * @category errors
 */
export class StashFull extends Data.TaggedError("StashFull")<{
  readonly address: string
  readonly capacity: number
}> {}

/**
 * A remote spawn named a kind the target system has not registered (see
 * `Remoting.layer({ kinds })`): only registered kinds can be spawned from
 * another node, and only their protocols can be decoded there.
 *
 * @example
 * ```ts
 * // remoting.spawn({ host, port }, "Unknown", "x") fails with KindNotRegistered
 * ```
 * @since 0.1.0
 * @category errors
 */
export class KindNotRegistered extends Data.TaggedError("KindNotRegistered")<{
  readonly kind: string
  readonly node: string
}> {}

/**
 * A message (or a reply, or a frame) could not be encoded for the wire or
 * decoded from it: an unknown tag, a payload that fails its Schema, malformed
 * bytes. Where a message was undeliverable it is also a deadletter on the
 * receiving node.
 *
 * @example
 * ```ts
 * // a remote tell of a message the target's protocol does not decode fails
 * // the next ask with DecodeError and publishes a deadletter on the target
 * ```
 * @since 0.1.0
 * @category errors
 */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly address: string
  readonly messageTag: string
  readonly reason: string
}> {}

/**
 * The remote node did not answer: refused connection, broken socket, or a
 * node that went down with calls in flight. Calls in flight fail with it and
 * are not resent.
 *
 * @example
 * ```ts
 * // yield* remotePid.ask(new Ping()) // NodeUnreachable when the node is down
 * ```
 * @since 0.1.0
 * @category errors
 */
export class NodeUnreachable extends Data.TaggedError("NodeUnreachable")<{
  readonly node: string
  readonly reason: string
}> {}

/**
 * The remote node refused the call: the shared token was missing or wrong.
 *
 * @example
 * ```ts
 * // a RemoteClient without the node's token gets Unauthorized on every call
 * ```
 * @since 0.1.0
 * @category errors
 */
export class Unauthorized extends Data.TaggedError("Unauthorized")<{
  readonly node: string
  readonly reason: string
}> {}

/**
 * Errors any call to another node can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type RemoteError = NodeUnreachable | DecodeError | Unauthorized

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
export class ExpectationFailed extends Data.TaggedError("ExpectationFailed")<{
  /** The probe's name. */
  readonly probe: string
  /** Which expectation failed (`expectMessage`, ...). */
  readonly expectation: string
  readonly expected: string
  readonly received: string
  readonly differences: ReadonlyArray<string>
  /** All of the above, readable. */
  readonly message: string
}> {}
