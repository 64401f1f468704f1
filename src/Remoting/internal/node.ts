/**
 * A system's remoting state: the kinds it may spawn for other nodes, the
 * remote watchers of its actors, the remote actors its actors watch (with a
 * probe per watched node), and the hooks the core calls (`RemoteHooks`).
 *
 * @internal
 */
import { Effect, Either, type Fiber, Option } from "effect"
import type * as Actor from "../../Actor.js"
import { Address, parse as parseAddress } from "../../Address.js"
import type { RemoteError } from "../../Errors.js"
import * as Events from "../../EventStream.js"
import { type Tagged, Terminated } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import type { Cell } from "../../internal/cell.js"
import type { RemoteHooks, SystemImpl } from "../../internal/system.js"
import { callError, type Pool, probe, RemotePid } from "./connection.js"

/** A definition any node may spawn here. */
export type AnyDefinition = Actor.Definition<Tagged, unknown, never>

interface Watched {
  readonly pid: RemotePid
  readonly watchers: Set<Cell>
}

/** @internal */
export class Node implements RemoteHooks {
  /** Remote watchers (addresses) of local cells. */
  private readonly remoteWatchers = new Map<Cell, Set<string>>()
  /** Remote actors watched by local cells, by address. */
  private readonly watched = new Map<string, Watched>()
  /** The remote actors each local cell watches. */
  private readonly watching = new Map<Cell, Set<string>>()
  private readonly probes = new Map<string, Fiber.RuntimeFiber<void>>()

  constructor(
    readonly impl: SystemImpl,
    readonly pool: Pool,
    readonly kinds: ReadonlyMap<string, AnyDefinition>
  ) {}

  get node(): string {
    return `${this.impl.host}:${this.impl.port}`
  }

  isLocal(address: Address): boolean {
    return address.host === this.impl.host && address.port === this.impl.port
  }

  /** A deadletter for a message that reached this node but no live actor. */
  deadletter(path: string, message: unknown, sender: string, reason: string): void {
    this.impl.deadletterCount++
    if (!this.impl.bus.wants("Deadletter")) return
    this.impl.publish(
      new Events.Deadletter({
        recipient: new Address({
          system: this.impl.name,
          host: this.impl.host,
          port: this.impl.port,
          path: path.slice(path.indexOf("@") + 1).split("/")
        }),
        sender: sender === "" ? undefined : parseAddress(sender),
        message,
        reason
      })
    )
  }

  // ------------------------------------------------------------ RemoteHooks

  lookup(address: Address): Effect.Effect<Option.Option<Pid.Pid>, RemoteError> {
    const path = address.path.join("/")
    if (this.isLocal(address)) {
      return Effect.sync(() => Option.map(Option.fromNullable(this.impl.lookup(path)), (cell) => cell.pid as Pid.Pid))
    }
    return lookupRemote(this.pool, address.host, address.port, path, undefined)
  }

  pid(address: Address): Pid.Pid {
    return this.pool.pid(address) as unknown as Pid.Pid
  }

  watch(watcher: Cell, target: Pid.Pid<never>): void {
    if (!(target instanceof RemotePid)) return
    const key = target.address.toString()
    let entry = this.watched.get(key)
    if (entry === undefined) {
      entry = { pid: target, watchers: new Set() }
      this.watched.set(key, entry)
    }
    if (entry.watchers.has(watcher)) return
    entry.watchers.add(watcher)
    let targets = this.watching.get(watcher)
    if (targets === undefined) {
      targets = new Set()
      this.watching.set(watcher, targets)
    }
    targets.add(key)
    const connection = target.connection
    const watcherAddress = watcher.addressString()
    this.pool.fork(
      connection.call((client) =>
        client.Watch({ target: target.path, watcher: watcherAddress }, { headers: connection.headers })
      ).pipe(
        Effect.mapError(callError(connection.node)),
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.sync(() => this.terminated(key, watcher, `${(error as { _tag: string })._tag}: ${String(error)}`)),
          onSuccess: (alive) => Effect.sync(() => alive ? this.startProbe(connection.node) : this.terminated(key, watcher, "Stopped"))
        })
      )
    )
  }

  unwatch(watcher: Cell, target: Pid.Pid<never>): void {
    if (!(target instanceof RemotePid)) return
    const key = target.address.toString()
    if (!this.forget(key, watcher)) return
    const connection = target.connection
    this.pool.fork(
      connection.call((client) =>
        client.Unwatch({ target: target.path, watcher: watcher.addressString() }, { headers: connection.headers })
      ).pipe(Effect.ignore)
    )
  }

  stopped(cell: Cell, reason: string): void {
    if (this.remoteWatchers.size > 0) {
      const watchers = this.remoteWatchers.get(cell)
      if (watchers !== undefined) {
        this.remoteWatchers.delete(cell)
        const address = cell.addressString()
        for (const watcher of watchers) this.notifyTerminated(watcher, address, reason)
      }
    }
    if (this.watching.size > 0) {
      const targets = this.watching.get(cell)
      if (targets !== undefined) for (const key of [...targets]) this.forget(key, cell)
    }
  }

  // ----------------------------------------------------- watchers of ours

  /** A local cell by `path` or `system@path` (another system's name: none). */
  resolve(target: string): Cell | undefined {
    const at = target.indexOf("@")
    if (at < 0) return this.impl.lookup(target)
    return target.slice(0, at) === this.impl.name ? this.impl.lookup(target.slice(at + 1)) : undefined
  }

  /** A remote watcher registers on a local actor; false when the actor is not alive. */
  addRemoteWatcher(path: string, watcher: string): boolean {
    const cell = this.resolve(path)
    if (cell === undefined) return false
    let watchers = this.remoteWatchers.get(cell)
    if (watchers === undefined) {
      watchers = new Set()
      this.remoteWatchers.set(cell, watchers)
    }
    watchers.add(watcher)
    return true
  }

  removeRemoteWatcher(path: string, watcher: string): void {
    const cell = this.resolve(path)
    if (cell !== undefined) this.remoteWatchers.get(cell)?.delete(watcher)
  }

  private notifyTerminated(watcher: string, address: string, reason: string): void {
    const parsed = parseAddress(watcher)
    if (parsed === undefined) return
    const connection = this.pool.connection(parsed.host, parsed.port)
    this.pool.fork(
      connection.call((client) =>
        client.Terminated({ watcher: parsed.path.join("/"), address, reason }, { headers: connection.headers })
      ).pipe(Effect.ignore)
    )
  }

  // ------------------------------------------------------- watched by ours

  /** A watched remote actor stopped (or its node stopped answering). */
  terminated(key: string, only: Cell | undefined, reason: string): void {
    const entry = this.watched.get(key)
    if (entry === undefined) return
    const watchers = only === undefined ? [...entry.watchers] : entry.watchers.has(only) ? [only] : []
    const message = new Terminated({ address: key, reason }, true)
    for (const watcher of watchers) {
      this.forget(key, watcher)
      watcher.sendSystem(message, entry.pid as unknown as Pid.Pid<never>)
    }
  }

  /** Drops one watch; true when it existed. */
  private forget(key: string, watcher: Cell): boolean {
    const entry = this.watched.get(key)
    if (entry === undefined || !entry.watchers.delete(watcher)) return false
    if (entry.watchers.size === 0) this.watched.delete(key)
    const targets = this.watching.get(watcher)
    targets?.delete(key)
    if (targets !== undefined && targets.size === 0) this.watching.delete(watcher)
    return true
  }

  private watchesOn(node: string): Array<string> {
    const keys: Array<string> = []
    for (const [key, entry] of this.watched) if (entry.pid.connection.node === node) keys.push(key)
    return keys
  }

  /** Probes a node while local actors watch actors on it; on failure they get `Terminated`. */
  private startProbe(node: string): void {
    if (this.probes.has(node)) return
    const settings = this.pool.settings
    const connection = [...this.watched.values()].find((entry) => entry.pid.connection.node === node)?.pid.connection
    if (connection === undefined) return
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      if (this.watchesOn(node).length === 0 || this.pool.closed) return Effect.void
      return Effect.sleep(settings.probeInterval).pipe(
        Effect.zipRight(Effect.either(probe(connection, settings.probeTimeout))),
        Effect.flatMap((result) => {
          if (Either.isRight(result)) return loop
          return Effect.sync(() => this.nodeDown(node, result.left))
        })
      )
    }).pipe(Effect.ensuring(Effect.sync(() => this.probes.delete(node))))
    this.probes.set(node, this.pool.fork(loop))
  }

  private nodeDown(node: string, error: unknown): void {
    const tag = (error as { readonly _tag?: unknown })._tag
    const detail = (error as { readonly reason?: unknown }).reason
    const reason = `NodeUnreachable: ${typeof detail === "string" ? detail : String(tag ?? error)}`
    for (const key of this.watchesOn(node)) this.terminated(key, undefined, reason)
  }
}

/** Looks a name up on a remote node. */
export const lookupRemote = (
  pool: Pool,
  host: string,
  port: number,
  path: string,
  tags: ReadonlySet<string> | undefined
): Effect.Effect<Option.Option<Pid.Pid>, RemoteError> => {
  const connection = pool.connection(host, port)
  return connection.call((client) => client.Lookup({ name: path }, { headers: connection.headers })).pipe(
    Effect.mapError((error) => callError(connection.node)(error) as RemoteError),
    Effect.map((found) => {
      if (found === null) return Option.none()
      const parsed = parseAddress(found.address)
      const address = parsed ?? new Address({ system: "", host, port, path: path.split("/") })
      return Option.some(pool.pid(address, tags) as unknown as Pid.Pid)
    })
  )
}
