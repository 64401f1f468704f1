/**
 * Loads an optional peer dependency at the moment a provider is built, so a
 * user without it can still use the other providers; its absence is a typed
 * `DiscoveryPackageMissing` naming the package.
 *
 * @internal
 */
import { Effect } from "effect"
import { DiscoveryPackageMissing } from "../../ClusterError.js"

export const importOptional = <M>(
  provider: string,
  packageName: string,
  load: () => Promise<M>
): Effect.Effect<M, DiscoveryPackageMissing> =>
  Effect.tryPromise({
    try: load,
    catch: (error) =>
      new DiscoveryPackageMissing({
        provider,
        package: packageName,
        reason: error instanceof Error ? error.message : String(error)
      })
  })
