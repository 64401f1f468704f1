/**
 * The framing of the node-to-node wire: every frame is a 4-byte big-endian
 * length, then that many bytes: one type byte and the type's payload.
 *
 * The reader checks the declared length against the current limit before it
 * keeps a single byte of the body, collects the body as it arrives (memory
 * grows with bytes received, never with bytes announced) and hands over each
 * complete frame exactly once: nothing is parsed twice, nothing is parsed
 * before it is whole. The handshake is hand-parsed (no msgpack before the
 * peer is authenticated).
 *
 * @internal
 */

/** The frame types. */
export const FrameType = {
  /** client → server, first frame: version, token, the client's system name. */
  Hello: 1,
  /** server → client: accepted (with the server's system name) or refused (with the reason). */
  Welcome: 2,
  /** A batch of tells: msgpack `[to, from, messages, to, from, messages, ...]`. */
  Tells: 3,
  /** An ask: u32 id, msgpack `[to, from, message, timeoutMillis]`, plus a `traceparent` when the sender traces. */
  Ask: 4,
  /** The answer to an ask or a control call: u32 id, msgpack `[0, value]` or `[1, ActorError]` (an `Errors.ActorError` encoded with its Schema). */
  Reply: 5,
  /** A control call: u32 id, msgpack `[op, payload]`. */
  Control: 6,
  /** server → client: tells processed, msgpack `[to, count, to, count, ...]`. */
  Credit: 7,
  /** server → client: a watched actor stopped, msgpack `[watcher, address, reason]`. */
  Terminated: 8,
  /** `Tells` from a node that traces: msgpack `[to, from, messages, traceparents, ...]` (one per message). */
  TracedTells: 9
} as const

/** The protocol version in `Hello`. */
export const VERSION = 1

/** The largest handshake frame a node reads from a peer it does not know yet. */
export const MAX_HANDSHAKE_BYTES = 1024

/** Why a frame reader gave up on a connection. */
export type FrameError = string

/**
 * Collects length-prefixed frames from a byte stream.
 * `onFrame` returns false when the connection is closed (stop reading).
 */
export class FrameReader {
  private readonly header = Buffer.alloc(4)
  private headerFill = 0
  private expected = -1
  private parts: Array<Buffer> = []
  private fill = 0

  constructor(public maxFrame: number) {}

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.fill + this.headerFill
  }

  /** Feeds a chunk; returns why the stream is malformed, or undefined. */
  push(chunk: Buffer, onFrame: (body: Buffer) => boolean): FrameError | undefined {
    let offset = 0
    const length = chunk.length
    while (offset < length) {
      if (this.expected < 0) {
        let size: number
        if (this.headerFill === 0 && length - offset >= 4) {
          size = chunk.readUInt32BE(offset)
          offset += 4
        } else {
          const n = Math.min(4 - this.headerFill, length - offset)
          chunk.copy(this.header, this.headerFill, offset, offset + n)
          this.headerFill += n
          offset += n
          if (this.headerFill < 4) return undefined
          this.headerFill = 0
          size = this.header.readUInt32BE(0)
        }
        if (size === 0) return "empty frame"
        if (size > this.maxFrame) return `frame of ${size} bytes over the limit of ${this.maxFrame}`
        if (length - offset >= size) {
          // The whole frame is in this chunk: no copy.
          const body = chunk.subarray(offset, offset + size)
          offset += size
          if (!onFrame(body)) return undefined
          continue
        }
        this.expected = size
      }
      const n = Math.min(this.expected - this.fill, length - offset)
      this.parts.push(chunk.subarray(offset, offset + n))
      this.fill += n
      offset += n
      if (this.fill === this.expected) {
        const body = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.fill)
        this.parts = []
        this.fill = 0
        this.expected = -1
        if (!onFrame(body)) return undefined
      }
    }
    return undefined
  }
}

/** A frame: length, type, then the payload (copied in). */
export const frame = (type: number, payload: Uint8Array | undefined): Buffer => {
  const size = payload === undefined ? 0 : payload.length
  const buffer = Buffer.allocUnsafe(5 + size)
  buffer.writeUInt32BE(1 + size, 0)
  buffer[4] = type
  if (payload !== undefined) buffer.set(payload, 5)
  return buffer
}

/** A frame whose payload starts with a u32 id (asks, replies, control calls). */
export const frameWithId = (type: number, id: number, payload: Uint8Array): Buffer => {
  const buffer = Buffer.allocUnsafe(9 + payload.length)
  buffer.writeUInt32BE(5 + payload.length, 0)
  buffer[4] = type
  buffer.writeUInt32BE(id, 5)
  buffer.set(payload, 9)
  return buffer
}

const putString = (parts: Array<Buffer>, text: string): void => {
  const bytes = Buffer.from(text, "utf8")
  const length = Buffer.allocUnsafe(2)
  length.writeUInt16BE(Math.min(bytes.length, 0xffff), 0)
  parts.push(length, bytes.subarray(0, 0xffff))
}

/** The `Hello` frame. */
export const hello = (token: string | undefined, system: string): Buffer => {
  const parts: Array<Buffer> = [Buffer.from([VERSION, token === undefined ? 0 : 1])]
  putString(parts, token ?? "")
  putString(parts, system)
  return frame(FrameType.Hello, Buffer.concat(parts))
}

/** The `Welcome` frame: accepted with the server's system name, or refused with the reason. */
export const welcome = (accepted: boolean, text: string): Buffer => {
  const parts: Array<Buffer> = [Buffer.from([accepted ? 0 : 1])]
  putString(parts, text)
  return frame(FrameType.Welcome, Buffer.concat(parts))
}

/** Reads a u16-prefixed string at `offset`; undefined past the end. */
const readString = (body: Buffer, offset: number): { readonly text: string; readonly next: number } | undefined => {
  if (offset + 2 > body.length) return undefined
  const size = body.readUInt16BE(offset)
  const end = offset + 2 + size
  if (end > body.length) return undefined
  return { text: body.toString("utf8", offset + 2, end), next: end }
}

/** A parsed `Hello` (body without its type byte). */
export interface Hello {
  readonly version: number
  readonly token: string | undefined
  readonly system: string
}

/** Parses a `Hello` body (after the type byte); undefined when malformed. */
export const parseHello = (body: Buffer): Hello | undefined => {
  if (body.length < 2) return undefined
  const version = body[0]!
  const hasToken = body[1] === 1
  const token = readString(body, 2)
  if (token === undefined) return undefined
  const system = readString(body, token.next)
  if (system === undefined || system.next !== body.length) return undefined
  return { version, token: hasToken ? token.text : undefined, system: system.text }
}

/** Parses a `Welcome` body (after the type byte); undefined when malformed. */
export const parseWelcome = (body: Buffer): { readonly accepted: boolean; readonly text: string } | undefined => {
  if (body.length < 1) return undefined
  const text = readString(body, 1)
  if (text === undefined || text.next !== body.length) return undefined
  return { accepted: body[0] === 0, text: text.text }
}
