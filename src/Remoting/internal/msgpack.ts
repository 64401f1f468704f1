/**
 * MessagePack on the wire: plain msgpack (no msgpackr records, so every
 * byte has its standard meaning), checked before it is decoded.
 *
 * `msgpackr` allocates an array of the declared length before the elements
 * exist: an `array32` header claiming 4 billion elements followed by nils
 * costs seconds of CPU per megabyte. `check` walks the bytes once and
 * refuses a payload whose containers declare more elements than bytes are
 * left (every element takes at least one byte), that is truncated, that
 * uses the never-used byte 0xc1, or that has trailing bytes. What passes is
 * decoded in time and memory linear in its size.
 *
 * @internal
 */
import { Packr, Unpackr } from "msgpackr"

const packr = new Packr({ useRecords: false })
const unpackr = new Unpackr({ useRecords: false })

/** Packs a value (a buffer of its own). */
export const pack = (value: unknown): Uint8Array => packr.pack(value)

/** Whether `bytes` hold exactly one well-formed msgpack value whose containers fit in them. */
export const check = (bytes: Uint8Array): boolean => {
  const length = bytes.length
  let i = 0
  // Values still to read: one at the start, plus what containers announce.
  let needed = 1
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  while (needed > 0) {
    if (i >= length) return false
    const b = bytes[i]!
    needed--
    let skip = 0
    let count = 0
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) i += 1
    else if (b >= 0x80 && b <= 0x8f) (count = 2 * (b & 0x0f)), (i += 1)
    else if (b >= 0x90 && b <= 0x9f) (count = b & 0x0f), (i += 1)
    else if (b >= 0xa0 && b <= 0xbf) (skip = b & 0x1f), (i += 1)
    else {
      switch (b) {
        case 0xc4: // bin8
        case 0xd9: // str8
          if (i + 2 > length) return false
          skip = bytes[i + 1]!
          i += 2
          break
        case 0xc5:
        case 0xda:
          if (i + 3 > length) return false
          skip = view.getUint16(i + 1)
          i += 3
          break
        case 0xc6:
        case 0xdb:
          if (i + 5 > length) return false
          skip = view.getUint32(i + 1)
          i += 5
          break
        case 0xc7: // ext8: len, type, data
          if (i + 3 > length) return false
          skip = bytes[i + 1]!
          i += 3
          break
        case 0xc8:
          if (i + 4 > length) return false
          skip = view.getUint16(i + 1)
          i += 4
          break
        case 0xc9:
          if (i + 6 > length) return false
          skip = view.getUint32(i + 1)
          i += 6
          break
        case 0xca:
        case 0xce:
        case 0xd2:
          i += 5
          break
        case 0xcb:
        case 0xcf:
        case 0xd3:
          i += 9
          break
        case 0xcc:
        case 0xd0:
          i += 2
          break
        case 0xcd:
        case 0xd1:
          i += 3
          break
        case 0xd4: // fixext 1, 2, 4, 8, 16: type + data
          i += 3
          break
        case 0xd5:
          i += 4
          break
        case 0xd6:
          i += 6
          break
        case 0xd7:
          i += 10
          break
        case 0xd8:
          i += 18
          break
        case 0xdc:
          if (i + 3 > length) return false
          count = view.getUint16(i + 1)
          i += 3
          break
        case 0xdd:
          if (i + 5 > length) return false
          count = view.getUint32(i + 1)
          i += 5
          break
        case 0xde:
          if (i + 3 > length) return false
          count = 2 * view.getUint16(i + 1)
          i += 3
          break
        case 0xdf:
          if (i + 5 > length) return false
          count = 2 * view.getUint32(i + 1)
          i += 5
          break
        default: // 0xc1: never used
          return false
      }
    }
    i += skip
    needed += count
    if (i + needed > length) return false
  }
  return i === length
}

/** Checks, then unpacks one value; undefined when malformed. */
export const unpack = (bytes: Uint8Array): unknown => {
  if (!check(bytes)) return undefined
  try {
    return unpackr.unpack(bytes)
  } catch {
    return undefined
  }
}
