/**
 * The cluster name of a grain: `~<kind>~~<id>`, each part escaped so the
 * name is one path segment of an address (letters, digits, `_ . -` as they
 * are; any other byte of its UTF-8 as `~XX`). A user's actor name starts
 * with a letter or digit, so a grain's name never collides with one, and
 * since an escape is `~` and two hex digits, `~~` only ever separates kind
 * from id.
 *
 * @internal
 */
import { Either } from "effect"
import { InvalidArgument } from "../../Errors.js"

const plain = /^[A-Za-z0-9_.-]$/
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const escape = (text: string): string => {
  let out = ""
  for (const char of text) {
    if (plain.test(char)) out += char
    else for (const byte of encoder.encode(char)) out += "~" + byte.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

const unescape = (text: string): string | undefined => {
  // Most names escape nothing: no bytes to rebuild.
  if (!text.includes("~")) return text
  const bytes: Array<number> = []
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i)
    if (char !== "~") {
      bytes.push(...encoder.encode(char))
      continue
    }
    const hex = text.slice(i + 1, i + 3)
    if (!/^[0-9A-F]{2}$/.test(hex)) return undefined
    bytes.push(parseInt(hex, 16))
    i += 2
  }
  return decoder.decode(new Uint8Array(bytes))
}

/** The longest name an actor may have. */
const maxName = 255

/** Whether a name is a grain's (cheap: the first character). */
export const isGrainName = (name: string): boolean => name.charCodeAt(0) === 126 && name.includes("~~", 1)

/** The cluster name of a grain, or why there is none (an empty id, too long once escaped). */
export const encode = (kind: string, id: string): Either.Either<string, InvalidArgument> => {
  if (id.length === 0) return Either.left(new InvalidArgument({ reason: `a grain id of kind ${kind} cannot be empty` }))
  const name = `~${escape(kind)}~~${escape(id)}`
  return name.length > maxName
    ? Either.left(
      new InvalidArgument({ reason: `grain ${kind}/${id} is too long: its escaped name has ${name.length} characters, at most ${maxName}` })
    )
    : Either.right(name)
}

/** The kind and id of a grain name, or undefined when it is not one. */
export const decode = (name: string): { readonly kind: string; readonly id: string } | undefined => {
  if (!isGrainName(name)) return undefined
  const at = name.indexOf("~~", 1)
  const kind = unescape(name.slice(1, at))
  const id = unescape(name.slice(at + 2))
  return kind === undefined || id === undefined ? undefined : { kind, id }
}

/** `kind/id`, for messages. */
export const describe = (name: string): string => {
  const grain = decode(name)
  return grain === undefined ? name : `${grain.kind}/${grain.id}`
}
