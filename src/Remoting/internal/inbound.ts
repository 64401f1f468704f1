/**
 * One accepted connection on a node's server: handshake, limits, frames in,
 * replies and credit out.
 *
 * Until the peer is authenticated only a `Hello` frame of at most
 * `MAX_HANDSHAKE_BYTES` is read, and it is hand-parsed. Any violation
 * (oversized or malformed frame, unknown type, bytes that do not decode)
 * closes the connection at once: no reply per bad byte.
 *
 * Tells are delivered synchronously into the target cells as they arrive
 * (no fiber per message); the credit they use is returned to the sender
 * once the target has processed them (its `processed` counter passed the
 * position they were queued at, or its mailbox emptied, or it stopped).
 *
 * @internal
 */
import { createHash, timingSafeEqual } from "node:crypto"
import type { Cell } from "../../internal/cell.js"
import type * as Transport from "../Transport.js"
import { pack } from "./msgpack.js"
import { FrameReader, FrameType, frame, MAX_HANDSHAKE_BYTES, parseHello, VERSION, welcome } from "./frame.js"

/** The limits of a node's server. */
export interface Limits {
  readonly maxFrameBytes: number
  readonly maxPendingBytes: number
  readonly maxConnections: number
  readonly handshakeTimeoutMillis: number
  readonly idleTimeoutMillis: number
}

/** What an inbound connection asks of its server. */
export interface InboundServer {
  readonly limits: Limits
  readonly system: string
  /** sha256 of the token, or undefined when none is required. */
  readonly tokenHash: Buffer | undefined
  now(): number
  /** Handles one authenticated frame; false when it was malformed. */
  handle(connection: Inbound, type: number, body: Buffer): boolean
  /** A connection broke a rule: count it, log it (rate limited), close it. */
  reject(connection: Inbound, kind: "malformed" | "unauthorized" | "limit", reason: string): void
  closed(connection: Inbound): void
}

interface CreditEntry {
  readonly to: string
  /** [processed count at which the tells are done, how many] in arrival order. */
  readonly queue: Array<number>
}

/** Hashes a token so that comparing two takes the same time whatever their lengths. */
export const hashToken = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

/** @internal */
export class Inbound implements Transport.LinkHandler {
  authed = false
  closed = false
  /** Anything received since the last idle sweep. */
  active = true
  idleMillis = 0
  readonly openedAt: number
  private readonly reader = new FrameReader(MAX_HANDSHAKE_BYTES)
  private out: Array<Buffer> = []
  private outBytes = 0
  private flushQueued = false
  private readonly credits = new Map<Cell, CreditEntry>()
  /** Credit ready to return, per target. */
  private ready = new Map<string, number>()
  outstanding = 0
  /** Local cells watched from the other side of this connection, with the watcher addresses. */
  readonly watches = new Map<Cell, Set<string>>()

  constructor(readonly server: InboundServer, readonly link: Transport.Link) {
    this.openedAt = server.now()
  }

  onOpen(): void {}

  onData(chunk: Buffer): void {
    if (this.closed) return
    this.active = true
    const error = this.reader.push(chunk, (body) => this.onFrame(body))
    if (error !== undefined && !this.closed) this.server.reject(this, "malformed", error)
  }

  onClose(): void {
    if (this.closed) return
    this.closed = true
    this.server.closed(this)
  }

  private onFrame(body: Buffer): boolean {
    if (this.closed) return false
    const type = body[0]!
    if (!this.authed) return this.handshake(type, body)
    if (!this.server.handle(this, type, body)) {
      if (!this.closed) this.server.reject(this, "malformed", `bad frame of type ${type}`)
      return false
    }
    return !this.closed
  }

  private handshake(type: number, body: Buffer): boolean {
    const hello = type === FrameType.Hello ? parseHello(body.subarray(1)) : undefined
    if (hello === undefined) {
      this.server.reject(this, "malformed", "expected a handshake")
      return false
    }
    if (hello.version !== VERSION) {
      this.refuse(`unsupported protocol version ${hello.version}`)
      return false
    }
    const expected = this.server.tokenHash
    if (expected !== undefined) {
      // Both sides hashed: equal lengths always, so the comparison leaks neither content nor length.
      const given = hashToken(hello.token ?? "")
      if (hello.token === undefined || !timingSafeEqual(given, expected)) {
        this.refuse("missing or wrong token")
        return false
      }
    }
    this.authed = true
    this.reader.maxFrame = this.server.limits.maxFrameBytes
    this.link.write(welcome(true, this.server.system))
    return true
  }

  private refuse(reason: string): void {
    this.link.write(welcome(false, reason))
    this.server.reject(this, "unauthorized", reason)
  }

  // ----------------------------------------------------------------- writing

  /** Queues a frame; all frames of a turn leave in one write. */
  send(bytes: Buffer): void {
    if (this.closed) return
    this.out.push(bytes)
    this.outBytes += bytes.length
    if (this.flushQueued) return
    this.flushQueued = true
    process.nextTick(() => this.flush())
  }

  private flush(): void {
    this.flushQueued = false
    if (this.closed || this.out.length === 0) return
    const out = this.out
    this.out = []
    this.outBytes = 0
    this.link.write(out.length === 1 ? out[0]! : Buffer.concat(out))
    // A peer that does not read its replies must not grow our memory.
    if (this.link.pendingBytes > this.server.limits.maxPendingBytes) {
      this.server.reject(this, "limit", `peer does not read: ${this.link.pendingBytes} bytes waiting`)
    }
  }

  // ------------------------------------------------------------------ credit

  /** `count` tells to `to` went into `cell`'s mailbox just now. */
  delivered(cell: Cell, to: string, count: number): void {
    let entry = this.credits.get(cell)
    if (entry === undefined) {
      entry = { to, queue: [] }
      this.credits.set(cell, entry)
    }
    entry.queue.push(cell.processed + cell.mailboxSize, count)
    this.outstanding += count
  }

  /** `count` tells to `to` were dealt with at once (deadletters): their credit goes back. */
  settled(to: string, count: number): void {
    this.ready.set(to, (this.ready.get(to) ?? 0) + count)
    this.outstanding += count
  }

  /** Returns the credit of tells processed since the last call. */
  releaseCredit(): void {
    if (this.closed) return
    for (const [cell, entry] of this.credits) {
      const queue = entry.queue
      const done = cell.isStopped || cell.mailboxSize === 0
      let i = 0
      let count = 0
      while (i < queue.length && (done || queue[i]! <= cell.processed)) {
        count += queue[i + 1]!
        i += 2
      }
      if (count === 0) continue
      queue.splice(0, i)
      if (queue.length === 0) this.credits.delete(cell)
      this.ready.set(entry.to, (this.ready.get(entry.to) ?? 0) + count)
    }
    if (this.ready.size === 0) return
    const flat: Array<unknown> = []
    for (const [to, count] of this.ready) {
      flat.push(to, count)
      this.outstanding -= count
    }
    this.ready = new Map()
    this.send(frame(FrameType.Credit, pack(flat)))
  }

  // ----------------------------------------------------------------- watches

  /** Tells the other side that a cell it watched stopped. */
  terminated(cell: Cell, address: string, reason: string): void {
    const watchers = this.watches.get(cell)
    if (watchers === undefined) return
    this.watches.delete(cell)
    for (const watcher of watchers) this.send(frame(FrameType.Terminated, pack([watcher, address, reason])))
  }
}
