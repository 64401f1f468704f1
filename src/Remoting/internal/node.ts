/**
 * A system's remoting state: the kinds it may spawn for other nodes, the
 * remote watchers of its actors (each tied to the connection it came on),
 * the remote actors its actors watch (with a probe per watched node), the
 * control calls it serves, and the hooks the core calls (`RemoteHooks`).
 *
 * Addresses that arrive from the wire (senders, watchers) are data: a
 * sender becomes a PID that opens a connection only if a handler sends to
 * it; a watcher is answered on the connection its `Watch` came on.
 *
 * @internal
 */
import { Effect, Either, type Fiber, Option } from "effect"
import type * as Actor from "../../Actor.js"
import { Address, parse as parseAddress } from "../../Address.js"
import { ActorNotFound, GrainMoved, KindNotRegistered, type RemoteError } from "../../Errors.js"
import * as Events from "../../EventStream.js"
import { type Tagged, Terminated } from "../../Message.js"
import type * as Pid from "../../Pid.js"
import type { Cell } from "../../internal/cell.js"
import type { RemoteHooks, SystemImpl } from "../../internal/system.js"
import * as Codec from "../Codec.js"
import * as Protocol from "../Protocol.js"
import type { Pool } from "./connection.js"
import { probe, RemotePid } from "./connection.js"
import type { Inbound } from "./inbound.js"

/** A definition any node may spawn here. */
export type AnyDefinition = Actor.Definition<Tagged, unknown, never>

interface Watched {
  readonly pid: RemotePid
  readonly watchers: Set<Cell>
}

/** @internal */
export class Node implements RemoteHooks {
  /** Connections on which remote actors watch a local cell. */
  private readonly remoteWatchers = new Map<Cell, Set<Inbound>>()
  /** Remote actors watched by local cells, by address. */
  private readonly watched = new Map<string, Watched>()
  /** The remote actors each local cell watches. */
  private readonly watching = new Map<Cell, Set<string>>()
  private readonly probes = new Map<string, Fiber.RuntimeFiber<void>>()
  /** Watches of remote actors by components that are not actors, by address. */
  private readonly callbacks = new Map<string, Set<(reason: string) => void>>()

  constructor(
    readonly impl: SystemImpl,
    readonly pool: Pool,
    readonly kinds: ReadonlyMap<string, AnyDefinition>,
    readonly epoch: number
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

  /** A local cell by `path` or `system@path` (another system's name: none). */
  resolve(target: string): Cell | undefined {
    const at = target.indexOf("@")
    if (at < 0) return this.local(target)
    return target.slice(0, at) === this.impl.name ? this.local(target.slice(at + 1)) : undefined
  }

  /** A local cell by path; none for a grain still activating (its messages queue behind the activation). */
  private local(path: string): Cell | undefined {
    if (path.charCodeAt(0) === 126 && this.impl.cluster?.grains?.pending(path) === true) return undefined
    return this.impl.lookup(path)
  }

  /** The grain hooks and the grain's path when `target` names a grain of a kind this node runs. */
  private grainOf(target: string) {
    const grains = this.impl.cluster?.grains
    if (grains === undefined) return undefined
    const at = target.indexOf("@")
    if (at >= 0 && target.slice(0, at) !== this.impl.name) return undefined
    const path = at < 0 ? target : target.slice(at + 1)
    const definition = path.charCodeAt(0) === 126 ? grains.definition(path) : undefined
    return definition === undefined ? undefined : { grains, path, definition }
  }

  /**
   * Tells for a name no local cell holds: when it names a grain this node
   * runs, the grain takes them (activated here first, in order) or they go
   * on to the node where it is active, with their original sender. True
   * when they were taken.
   */
  divertTells(target: string, from: string, messages: ReadonlyArray<unknown>): boolean {
    const grain = this.grainOf(target)
    if (grain === undefined) return false
    const decoded: Array<Tagged> = []
    const wire: Array<unknown> = []
    for (const encoded of messages) {
      const message = Codec.decodeMessage(grain.definition.protocol, encoded, this.pool.decodeContext)
      if (Either.isLeft(message)) this.deadletter(target, encoded, from, message.left)
      else {
        decoded.push(message.right)
        wire.push(encoded)
      }
    }
    const sender = this.senderOf(from)
    grain.grains.withCell(grain.path, (cell) => {
      for (const message of decoded) cell.send(message, sender, undefined)
    }, (error) => {
      const moved = error instanceof GrainMoved ? parseAddress(error.address) : undefined
      if (moved === undefined) {
        for (const message of decoded) this.deadletter(target, message, from, String(error))
        return
      }
      // Sent on as they came, from their original sender: a reply to `ctx.sender` reaches it.
      const pid = this.pool.pid(moved, grain.definition.tags)
      this.pool.fork(
        Effect.ignore(Effect.forEach(decoded, (message, i) => pid.relay(from, wire[i], message._tag), { discard: true }))
      )
    })
    return true
  }

  /**
   * An ask for a name no local cell holds: when it names a grain this node
   * runs, `use` gets its cell once it is active here, or `fail` why not
   * (`GrainMoved` tells the asker where it is). True when it was taken.
   */
  divertAsk(target: string, use: (cell: Cell) => void, fail: (error: unknown) => void): boolean {
    const grain = this.grainOf(target)
    if (grain === undefined) return false
    grain.grains.withCell(grain.path, use, fail)
    return true
  }

  /** Why a target was not found: another system's name means the sender's address is stale. */
  notFoundReason(target: string): string {
    const at = target.indexOf("@")
    return at >= 0 && target.slice(0, at) !== this.impl.name
      ? `wrong target node: ${this.node} runs system ${this.impl.name}`
      : "actor not found"
  }

  /** The PID of a sender address from the wire (nothing is opened until someone sends to it). */
  senderOf(from: string): Pid.Pid<never> | undefined {
    if (from === "") return undefined
    return this.pool.pidOf(from) as unknown as Pid.Pid<never> | undefined
  }

  // --------------------------------------------------------- control calls

  /** Serves one control call that came on `inbound`. */
  control(request: Protocol.ControlRequest, inbound: Inbound): Effect.Effect<unknown, unknown> {
    const impl = this.impl
    const found = (name: string) =>
      Effect.suspend(() => {
        const cell = this.resolve(name)
        return cell === undefined ? Effect.fail(new ActorNotFound({ actorName: name })) : Effect.succeed(cell)
      })
    switch (request._tag) {
      case "Lookup":
        return Effect.sync(() => {
          const cell = this.resolve(request.name)
          return cell === undefined ? null : { address: cell.addressString(), kind: cell.def.kind }
        })
      case "Spawn": {
        const definition = this.kinds.get(request.kind)
        if (definition === undefined) return Effect.fail(new KindNotRegistered({ kind: request.kind, node: this.node }))
        return Effect.map(impl.spawn(definition, request.name, undefined, undefined), (pid) => pid.address.toString())
      }
      case "Respawn":
        return Effect.flatMap(found(request.name), (cell) => cell.pid.restart)
      case "Stop":
        return Effect.flatMap(found(request.name), (cell) => request.kill ? cell.pid.kill : cell.pid.stop)
      case "Watch":
        return Effect.sync(() => this.addRemoteWatcher(request.target, request.watcher, inbound))
      case "Unwatch":
        return Effect.sync(() => this.removeRemoteWatcher(request.target, request.watcher, inbound))
      case "Metrics":
        return Effect.flatMap(found(request.name), (cell) => cell.pid.metrics)
      case "NodeInfo":
        return Effect.sync(() => ({
          system: impl.name,
          host: impl.host,
          port: impl.port,
          epoch: this.epoch,
          actors: impl.live,
          kinds: [...this.kinds.keys()]
        }))
    }
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
    connection.watches++
    this.pool.fork(
      connection.control(new Protocol.Watch({ target: target.path, watcher: watcher.addressString() })).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.sync(() => this.terminated(key, watcher, `${(error as { _tag: string })._tag}: ${String(error)}`)),
          onSuccess: (alive) =>
            Effect.sync(() => alive ? this.startProbe(target.node) : this.terminated(key, watcher, "Stopped"))
        })
      )
    )
  }

  watchRemote(target: Pid.Pid<never>, onTerminated: (reason: string) => void): (() => void) | undefined {
    if (!(target instanceof RemotePid)) return undefined
    const key = target.address.toString()
    let set = this.callbacks.get(key)
    if (set === undefined) this.callbacks.set(key, set = new Set())
    let done = false
    const callback = (reason: string) => {
      if (done) return
      done = true
      cancel()
      onTerminated(reason)
    }
    const cancel = () => {
      const current = this.callbacks.get(key)
      current?.delete(callback)
      if (current?.size === 0) this.callbacks.delete(key)
    }
    set.add(callback)
    // The watcher named in the request is this node itself: answers come back on the connection.
    const watcher = `${this.impl.name}@${this.node}/$watch`
    this.pool.fork(
      target.connection.control(new Protocol.Watch({ target: target.path, watcher })).pipe(
        Effect.matchEffect({
          onFailure: (error) =>
            Effect.sync(() => callback(`NodeUnreachable: ${(error as { _tag?: string })._tag ?? String(error)}`)),
          onSuccess: (alive) => Effect.sync(() => alive ? undefined : callback("Stopped"))
        })
      )
    )
    return () => {
      done = true
      cancel()
    }
  }

  private notifyCallbacks(key: string, reason: string): void {
    const set = this.callbacks.get(key)
    if (set !== undefined) for (const callback of [...set]) callback(reason)
  }

  unwatch(watcher: Cell, target: Pid.Pid<never>): void {
    if (!(target instanceof RemotePid)) return
    const key = target.address.toString()
    if (!this.forget(key, watcher)) return
    this.pool.fork(
      Effect.ignore(target.connection.control(new Protocol.Unwatch({ target: target.path, watcher: watcher.addressString() })))
    )
  }

  stopped(cell: Cell, reason: string): void {
    if (this.remoteWatchers.size > 0) {
      const inbounds = this.remoteWatchers.get(cell)
      if (inbounds !== undefined) {
        this.remoteWatchers.delete(cell)
        const address = cell.addressString()
        for (const inbound of inbounds) inbound.terminated(cell, address, reason)
      }
    }
    if (this.watching.size > 0) {
      const targets = this.watching.get(cell)
      if (targets !== undefined) for (const key of [...targets]) this.forget(key, cell)
    }
  }

  // ----------------------------------------------------- watchers of ours

  /** A remote watcher registers on a local actor; false when the actor is not alive. */
  addRemoteWatcher(path: string, watcher: string, inbound: Inbound): boolean {
    const cell = this.resolve(path)
    if (cell === undefined || inbound.closed) return false
    let inbounds = this.remoteWatchers.get(cell)
    if (inbounds === undefined) {
      inbounds = new Set()
      this.remoteWatchers.set(cell, inbounds)
    }
    inbounds.add(inbound)
    let watchers = inbound.watches.get(cell)
    if (watchers === undefined) {
      watchers = new Set()
      inbound.watches.set(cell, watchers)
    }
    watchers.add(watcher)
    return true
  }

  removeRemoteWatcher(path: string, watcher: string, inbound: Inbound): void {
    const cell = this.resolve(path)
    if (cell === undefined) return
    const watchers = inbound.watches.get(cell)
    if (watchers === undefined) return
    watchers.delete(watcher)
    if (watchers.size > 0) return
    inbound.watches.delete(cell)
    this.remoteWatchers.get(cell)?.delete(inbound)
  }

  /** A connection from another node closed: its watches go with it. */
  inboundClosed(inbound: Inbound): void {
    for (const cell of inbound.watches.keys()) {
      const inbounds = this.remoteWatchers.get(cell)
      inbounds?.delete(inbound)
      if (inbounds !== undefined && inbounds.size === 0) this.remoteWatchers.delete(cell)
    }
    inbound.watches.clear()
  }

  // ------------------------------------------------------- watched by ours

  /** A node told us a watched actor stopped (`watcher` is the local watcher's address). */
  remoteTerminated(watcher: string, address: string, reason: string): void {
    if (watcher.endsWith("/$watch")) return this.notifyCallbacks(address, reason)
    const parsed = parseAddress(watcher)
    const cell = parsed === undefined ? undefined : this.impl.lookup(parsed.path.join("/"))
    if (cell !== undefined) this.terminated(address, cell, reason)
  }

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
    const connection = this.pool.connections.get(entry.pid.node)
    if (connection !== undefined && connection.watches > 0) connection.watches--
    return true
  }

  private watchesOn(node: string): Array<string> {
    const keys: Array<string> = []
    for (const [key, entry] of this.watched) if (entry.pid.node === node) keys.push(key)
    return keys
  }

  /** Probes a node while local actors watch actors on it; on failure they get `Terminated`. */
  private startProbe(node: string): void {
    if (this.probes.has(node)) return
    const settings = this.pool.settings
    const pid = [...this.watched.values()].find((entry) => entry.pid.node === node)?.pid
    if (pid === undefined) return
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      if (this.watchesOn(node).length === 0 || this.pool.closed) return Effect.void
      return Effect.sleep(settings.probeInterval).pipe(
        Effect.zipRight(Effect.either(Effect.suspend(() => probe(pid.connection, settings.probeTimeout)))),
        Effect.flatMap((result) => {
          if (Either.isRight(result)) return loop
          return Effect.sync(() => this.nodeDown(node, result.left))
        })
      )
    }).pipe(Effect.ensuring(Effect.sync(() => this.probes.delete(node))))
    this.probes.set(node, this.pool.fork(loop))
  }

  /** Every watcher of actors on `node` gets `Terminated` with `NodeUnreachable`. */
  nodeDown(node: string, error: unknown): void {
    const tag = (error as { readonly _tag?: unknown })._tag
    const detail = (error as { readonly reason?: unknown }).reason
    const reason = `NodeUnreachable: ${typeof detail === "string" ? detail : String(tag ?? error)}`
    for (const key of this.watchesOn(node)) this.terminated(key, undefined, reason)
    for (const key of [...this.callbacks.keys()]) {
      const address = parseAddress(key)
      if (address !== undefined && `${address.host}:${address.port}` === node) this.notifyCallbacks(key, reason)
    }
  }
}

/** Looks a name up on a remote node. */
export const lookupRemote = (
  pool: Pool,
  host: string,
  port: number,
  path: string,
  tags: ReadonlySet<string> | undefined
): Effect.Effect<Option.Option<Pid.Pid>, RemoteError> =>
  Effect.suspend(() => pool.connection(host, port).control(new Protocol.Lookup({ name: path }))).pipe(
    Effect.mapError((error) => error as RemoteError),
    Effect.map((found) => {
      if (found === null) return Option.none()
      const parsed = parseAddress(found.address)
      const address = parsed ?? new Address({ system: "", host, port, path: path.split("/") })
      return Option.some(pool.pid(address, tags) as unknown as Pid.Pid)
    })
  )
