/**
 * Rendezvous (highest random weight) placement: a name goes to the node
 * whose hash of `(node, name)` is highest. Every node computes the same
 * answer from the same view without talking to the others, and when a node
 * leaves only its own names move (each to the node that was second for it),
 * so survivors of a death adopt disjoint shares with no coordinator
 * (Proto.Actor's `Rendezvous.cs` does the same).
 *
 * The hash is XXH3 (64 bits) from `hash-wasm`: a well-kept, dependency-free
 * WebAssembly build of the reference xxHash code, so every node on every
 * platform computes bit-identical weights (which placement needs) without a
 * native build step, and at about a microsecond per hash it is far below the
 * cost of the store round trip it decides. Node's built-in `crypto` hashes
 * would do too but pay for cryptographic strength nobody needs here.
 *
 * @internal
 */
import { Effect } from "effect"
import { createXXHash3, type IHasher } from "hash-wasm"

/** Picks the node of a name among candidates. */
export interface Placement {
  /** The candidate with the highest weight for `name`, or `undefined` when there is none. */
  pick(name: string, candidates: ReadonlyArray<string>): string | undefined
}

/** XXH3-64 of `node` and `name`, as a bigint weight. */
const weight = (hasher: IHasher, node: string, name: string): bigint => {
  hasher.init()
  hasher.update(node)
  hasher.update("\u0000")
  hasher.update(name)
  return BigInt("0x" + hasher.digest("hex"))
}

/** Builds the placement (loads the WebAssembly hasher once). */
export const make: Effect.Effect<Placement> = Effect.map(
  Effect.promise(() => createXXHash3()),
  (hasher): Placement => ({
    pick: (name, candidates) => {
      let best: string | undefined
      let bestWeight = -1n
      for (const candidate of candidates) {
        const w = weight(hasher, candidate, name)
        // Ties (astronomically rare) go to the smaller id, so every node agrees.
        if (w > bestWeight || (w === bestWeight && best !== undefined && candidate < best)) {
          best = candidate
          bestWeight = w
        }
      }
      return best
    }
  })
)
