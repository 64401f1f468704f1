/** The check every provider shares: each bad config fails with `DiscoveryConfigInvalid` naming its field. */
import { expect } from "@effect/vitest"
import { Effect, Either } from "effect"
import type { DiscoveryConfigInvalid } from "../../../src/Cluster/ClusterError.js"

export const expectFieldErrors = <C, E, R>(
  provider: string,
  make: (config: C) => Effect.Effect<unknown, E | DiscoveryConfigInvalid, R>,
  cases: ReadonlyArray<readonly [config: object, field: string]>
): Effect.Effect<void, never, R> =>
  Effect.forEach(cases, ([config, field]) =>
    Effect.map(Effect.either(make(config as C)), (result) => {
      expect(Either.isLeft(result) && result.left, JSON.stringify(config)).toMatchObject({
        _tag: "DiscoveryConfigInvalid",
        provider,
        field
      })
    }), { discard: true })
