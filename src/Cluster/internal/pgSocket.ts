/**
 * The sockets of the PostgreSQL store, guarded against stalls: a
 * connection that has not connected, or whose request has had no answer,
 * within `stallMillis` is destroyed.
 *
 * A partition that drops a connection silently (a stateful firewall or NAT
 * that lost its state, a link that went dark) leaves its query waiting until
 * the kernel gives up on it, about 15 minutes by default, and
 * `@effect/sql-pg` hands a connection whose query was interrupted back to
 * its pool as it is: every later query on it queues behind the stuck one,
 * the pool fills with such connections, and a node cut off that way cannot
 * rejoin when the network is back. Destroyed, the connection fails its
 * query (`StoreUnavailable`) and leaves the pool, which opens a new one.
 *
 * @internal
 */
import * as Net from "node:net"

/** A socket factory for `pg` (`stream`): idle waiting for an answer for `stallMillis` means stuck. */
export const guarded = (stallMillis: number) => (): Net.Socket => {
  const socket = new Net.Socket()
  /** `bytesWritten` when the last answer came: more written since means a request is waiting. */
  let writtenAtLastAnswer = 0
  socket.on("data", () => {
    writtenAtLastAnswer = socket.bytesWritten
  })
  // Fires after `stallMillis` without a byte either way; an idle pooled connection is left alone.
  // The socket's own inactivity timer, not the Effect Clock: the `pg` driver owns this socket outside
  // any fiber, and the database answers in real time even when a test drives the Clock.
  socket.setTimeout(stallMillis, () => {
    if (socket.connecting || socket.bytesWritten > writtenAtLastAnswer) {
      socket.destroy(new Error(`PostgreSQL did not answer within ${stallMillis} ms: connection dropped`))
    }
  })
  return socket
}
