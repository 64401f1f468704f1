/**
 * Where an actor lives: `effect-actors://system@host:port/path`. Local systems
 * without remoting have no host and print as `effect-actors://system/path`.
 *
 * @since 0.1.0
 */
import { Data } from "effect"

/**
 * An actor's address. Two addresses are `Equal` when every part is.
 *
 * @example
 * ```ts
 * import { Address } from "effect-actors"
 * const a = Address.make({ system: "shop", host: "", port: 0, path: ["cart", "item-1"] })
 * console.log(String(a)) // effect-actors://shop/cart/item-1
 * ```
 * @since 0.1.0
 * @category models
 */
export class Address extends Data.Class<{
  readonly system: string
  readonly host: string
  readonly port: number
  readonly path: ReadonlyArray<string>
}> {
  /** The actor's own name: the last path segment. */
  get name(): string {
    return this.path[this.path.length - 1] ?? ""
  }

  override toString(): string {
    const node = this.host === "" ? this.system : `${this.system}@${this.host}:${this.port}`
    return `effect-actors://${node}/${this.path.join("/")}`
  }
}

/**
 * Builds an address.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (fields: {
  readonly system: string
  readonly host: string
  readonly port: number
  readonly path: ReadonlyArray<string>
}): Address => new Address(fields)

/**
 * Parses `effect-actors://system[@host:port]/a/b`; `undefined` when malformed.
 *
 * @example
 * ```ts
 * import { Address } from "effect-actors"
 * Address.parse("effect-actors://shop@127.0.0.1:4000/cart")?.port // 4000
 * ```
 * @since 0.1.0
 * @category constructors
 */
export const parse = (text: string): Address | undefined => {
  const match = /^effect-actors:\/\/([^@/]+)(?:@([^:/]+):(\d+))?\/(.+)$/.exec(text)
  if (match === null) return undefined
  const [, system, host, port, path] = match
  if (system === undefined || path === undefined) return undefined
  return new Address({
    system,
    host: host ?? "",
    port: port === undefined ? 0 : Number(port),
    path: path.split("/")
  })
}
