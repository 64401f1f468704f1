/**
 * Builds one node's cluster on its actor system, remoting and store, and
 * plugs the directory into the system (`SystemImpl.cluster`).
 *
 * @internal
 */
import { Duration, Effect, Either, type Scope } from "effect"
import * as Address from "../../Address.js"
import { ActorSystem } from "../../ActorSystem.js"
import * as Remoting from "../../Remoting/Remoting.js"
import { SpawnFailed } from "../../Errors.js"
import { type AnyDefinition, implOf } from "../../internal/system.js"
import type { Service as Store } from "../ClusterStore.js"
import * as Batcher from "./batcher.js"
import { controlName, SpawnHere } from "./control.js"
import { defaultGrainSettings, Grains, type GrainSettings } from "./grains.js"
import { ClusterNode } from "./cluster.js"
import { Directory, type NodeView, parseNodeAddress } from "./directory.js"
import * as Rendezvous from "./rendezvous.js"

/** The settings of `Cluster.make`, resolved. */
export interface BuildSettings {
  readonly kinds: ReadonlyArray<AnyDefinition>
  readonly relocate: boolean
  readonly relocationWait: Duration.Duration
  readonly maxBatch: number
  /** The role a node must have to run a kind, by kind. */
  readonly kindRoles?: ReadonlyMap<string, string>
  /** How this node runs grains (defaults: `defaultGrainSettings`). */
  readonly grains?: GrainSettings
}

/** This node's remoting address as members see it: `system@host:port`. */
export const nodeAddress = Effect.gen(function*() {
  const system = yield* ActorSystem
  const remoting = yield* Remoting.Remoting
  return `${system.name}@${remoting.host}:${remoting.port}`
})

/** A remote spawn whose node answered something a spawn cannot fail with (no control actor, a timeout). */
const failedThere = (name: string) => (error: { readonly message: string }) =>
  Effect.fail(new SpawnFailed({ actorName: name, reason: `the node asked to spawn it: ${error.message}`, cause: error }))

/** Claim batches that travel at once: one on the wire while this node spawns what the one before claimed. */
const claimsInFlight = 2

/** A probe of a suspect node waits this long for its answer. */
const probeTimeout = Duration.seconds(1)

export const build = (
  settings: BuildSettings,
  store: Store,
  view: NodeView
): Effect.Effect<ClusterNode, never, ActorSystem | Remoting.Remoting | Scope.Scope> =>
  Effect.gen(function*() {
    const system = yield* ActorSystem
    const remoting = yield* Remoting.Remoting
    const impl = implOf(system)
    if (impl === undefined) return yield* Effect.dieMessage("Cluster: the ActorSystem has no machinery")
    if (impl.cluster !== undefined) return yield* Effect.dieMessage("Cluster: this ActorSystem is already in a cluster")
    const runtime = yield* Effect.runtime<never>()
    const claims = yield* Batcher.make((requests: ReadonlyArray<import("../ClusterStore.js").ClaimRequest>) =>
      store.claim(view.self, requests), settings.maxBatch, claimsInFlight)
    const lookups = yield* Batcher.make(
      (names: ReadonlyArray<string>) =>
        Effect.map(store.lookup(names), (found) => names.map((name) => found.get(name))),
      settings.maxBatch
    )
    const kinds = new Map<string, AnyDefinition>()
    for (const def of settings.kinds) kinds.set(def.kind, def)
    const pidAt = (target: Address.Address, def: AnyDefinition | undefined) =>
      Either.getOrUndefined(
        Effect.runSync(Effect.either(Remoting.pid(target, def).pipe(Effect.provideService(ActorSystem, system))))
      )
    const remotePid = (address: string, name: string, def: AnyDefinition | undefined) => {
      const node = parseNodeAddress(address)
      if (node === undefined) return undefined
      return pidAt(Address.make({ system: node.system, host: node.host, port: node.port, path: [name] }), def)
    }
    const clock = yield* Effect.clock
    const directory = new Directory(
      impl,
      store,
      view,
      claims,
      lookups,
      runtime,
      kinds,
      settings.relocate,
      remotePid,
      () => clock.unsafeCurrentTimeMillis(),
      (node) => {
        const at = node.lastIndexOf(":")
        return remoting.nodeInfo({ host: node.slice(0, at), port: Number(node.slice(at + 1)) }).pipe(
          Effect.timeout(probeTimeout),
          Effect.as(true),
          Effect.orElseSucceed(() => false)
        )
      }
    )
    const placement = yield* Rendezvous.make
    const grains = new Grains(directory, placement, settings.grains ?? {
      ...defaultGrainSettings,
      relocationWait: settings.relocationWait
    }, runtime, pidAt)
    directory.grains = grains
    const node = new ClusterNode(
      impl,
      directory,
      placement,
      {
        relocationWait: settings.relocationWait,
        ...(settings.kindRoles === undefined ? {} : { kindRoles: settings.kindRoles }),
        load: (member) => {
          const address = parseNodeAddress(member.address)
          return address === undefined
            ? Effect.fail(`node ${member.nodeId} has no remoting address`)
            : Effect.map(remoting.nodeInfo({ host: address.host, port: address.port }), (info) => info.actors)
        }
      },
      () => view.members(),
      grains,
      (member, kind, name, options) => {
        const address = parseNodeAddress(member.address)
        if (address === undefined) return Effect.dieMessage(`Cluster: node ${member.nodeId} has no remoting address`)
        const control = Address.make({ system: address.system, host: address.host, port: address.port, path: [controlName] })
        return Remoting.pid(control).pipe(
          Effect.flatMap((pid) => pid.ask(new SpawnHere({ kind, name, options }))),
          Effect.catchTags({
            AskTimeout: failedThere(name),
            AskFailed: failedThere(name),
            ActorNotFound: failedThere(name),
            MailboxFull: failedThere(name),
            UnknownMessage: failedThere(name)
          }),
          Effect.flatMap((spawned) => Remoting.pid(spawned, kinds.get(kind))),
          Effect.provideService(ActorSystem, system)
        )
      }
    )
    impl.cluster = directory
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (impl.cluster === directory) impl.cluster = undefined
      })
    )
    return node
  })

export const defaultRelocationWait = Duration.seconds(10)
