/**
 * Where an actor lives: `effect-actors://system@host:port/path`. Local systems
 * without remoting have no host and print as `effect-actors://system/path`;
 * an IPv6 host prints in brackets (`effect-actors://shop@[::1]:4000/cart`).
 * Every address printed parses back to an equal address.
 *
 * @since 0.1.0
 */
import { Equal, Hash, Inspectable, ParseResult, Schema } from "effect"

// Each address's text, printed once (kept out of the object so that its own
// fields are exactly its parts).
const printed = new WeakMap<Address, string>()

/**
 * An actor's address. Two addresses are `Equal` (and hash alike) when every
 * part is, path segment by segment, so addresses work as keys of a `HashMap`
 * or `HashSet` however they were obtained (built, parsed, decoded).
 *
 * @example
 * ```ts
 * import { Equal } from "effect"
 * import { Address } from "effect-actors"
 * const a = Address.make({ system: "shop", host: "", port: 0, path: ["cart", "item-1"] })
 * console.log(String(a)) // effect-actors://shop/cart/item-1
 * Equal.equals(a, Address.parse(String(a))) // true
 * ```
 * @since 0.1.0
 * @category models
 */
export class Address implements Equal.Equal, Inspectable.Inspectable {
  readonly system: string
  readonly host: string
  readonly port: number
  readonly path: ReadonlyArray<string>

  constructor(fields: {
    readonly system: string
    readonly host: string
    readonly port: number
    readonly path: ReadonlyArray<string>
  }) {
    this.system = fields.system
    this.host = fields.host
    this.port = fields.port
    this.path = fields.path
  }

  /** The actor's own name: the last path segment. */
  get name(): string {
    return this.path[this.path.length - 1] ?? ""
  }

  [Equal.symbol](that: Equal.Equal): boolean {
    if (!isAddress(that)) return false
    if (this.system !== that.system || this.host !== that.host || this.port !== that.port) return false
    const a = this.path
    const b = that.path
    if (a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }

  [Hash.symbol](): number {
    return Hash.cached(this, Hash.string(this.toString()))
  }

  toString(): string {
    let text = printed.get(this)
    if (text === undefined) {
      const host = this.host.includes(":") ? `[${this.host}]` : this.host
      const node = this.host === "" ? this.system : `${this.system}@${host}:${this.port}`
      text = `effect-actors://${node}/${this.path.join("/")}`
      printed.set(this, text)
    }
    return text
  }

  toJSON(): unknown {
    return this.toString()
  }

  [Inspectable.NodeInspectSymbol](): unknown {
    return this.toString()
  }
}

/**
 * Whether a value is an `Address`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isAddress = (u: unknown): u is Address => u instanceof Address

/**
 * Builds an address.
 *
 * @example
 * ```ts
 * import { Address } from "effect-actors"
 * Address.make({ system: "shop", host: "::1", port: 4000, path: ["cart"] }).toString()
 * // effect-actors://shop@[::1]:4000/cart
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: {
  readonly system: string
  readonly host: string
  readonly port: number
  readonly path: ReadonlyArray<string>
}): Address => new Address(fields)

// system (maybe empty) [@ host : port] [/ path]; the host is a name, an IPv4
// address or an IPv6 address in brackets.
const pattern = /^effect-actors:\/\/([^@/[\]]*)(?:@(?:\[([0-9A-Fa-f:.%\w-]+)\]|([^:/@[\]]+)):(\d{1,5}))?(?:\/(.*))?$/

/**
 * Parses `effect-actors://system[@host:port]/a/b` (an IPv6 host in brackets,
 * the system name possibly empty); `undefined` when malformed.
 *
 * @example
 * ```ts
 * import { Address } from "effect-actors"
 * Address.parse("effect-actors://shop@127.0.0.1:4000/cart")?.port // 4000
 * Address.parse("effect-actors://@[::1]:4000/cart")?.host // "::1"
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const parse = (text: string): Address | undefined => {
  const match = pattern.exec(text)
  if (match === null) return undefined
  const [, system = "", ipv6, name, port, path = ""] = match
  const host = ipv6 ?? name ?? ""
  const portNumber = port === undefined ? 0 : Number(port)
  if (portNumber > 65535) return undefined
  return new Address({ system, host, port: portNumber, path: path === "" ? [] : path.split("/") })
}

/**
 * An address as a Schema: encoded as its text, decoded with `parse` (a
 * malformed address fails to decode).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Address } from "effect-actors"
 * class Moved extends Schema.TaggedClass<Moved>()("Moved", { to: Address.schema }) {}
 * ```
 * @since 0.1.0
 * @category schemas
 */
export const schema: Schema.Schema<Address, string> = Schema.transformOrFail(
  Schema.String,
  Schema.declare(isAddress, { identifier: "Address" }),
  {
    strict: true,
    decode: (text, _, ast) => {
      const address = parse(text)
      return address === undefined
        ? ParseResult.fail(new ParseResult.Type(ast, text, `not an actor address: ${text}`))
        : ParseResult.succeed(address)
    },
    encode: (address) => ParseResult.succeed(address.toString())
  }
).annotations({ identifier: "AddressFromString" })
