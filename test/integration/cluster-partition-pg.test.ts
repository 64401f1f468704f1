/**
 * A partition between one node and its store, on PostgreSQL (127.0.0.1:5432,
 * database `test`, a schema per test) on the real clock: node `a` reaches the
 * store only through a TCP proxy that blackholes it; `b` and `c` reach it
 * directly. Three cluster nodes in this process, each with its own actor
 * system, remoting on 127.0.0.1 and connection pool.
 *
 * Every probe actor appends to one in-process log when it starts and stops,
 * and so does an observer of `a`'s state: the order of that log is the order
 * things happened, so "a suspended before anyone adopted its actors" and
 * "never two live instances of a name" are checked exactly, not by timing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Duration, Effect, Either, Exit, Fiber, Layer, Option, Queue, Schema, Scope, Stream } from "effect"
import * as Net from "node:net"
import { Actor, ActorSystem, type EventStream, Remoting } from "../../src/index.js"
import type { Address } from "../../src/Address.js"
import * as Cluster from "../../src/Cluster/Cluster.js"
import * as ClusterStore from "../../src/Cluster/ClusterStore.js"
import * as Discovery from "../../src/Cluster/Discovery.js"
import type * as Membership from "../../src/Cluster/Membership.js"
import { Increment } from "../helpers.js"
import { pgAdmin, pgUrl } from "./pg.js"
import { tcpProxy } from "./tcpProxy.js"

class Where extends Schema.TaggedRequest<Where>()("Where", {
  payload: {},
  success: Schema.Struct({ node: Schema.String, fence: Schema.Number, count: Schema.Number }),
  failure: Schema.Never
}) {}

interface Entry {
  readonly what: "start" | "stop" | "suspended"
  readonly node: string
  readonly name: string
  readonly fence: number
}

/** The probe kind as node `node` runs it: a counter that says where it runs, logging its life. */
const probe = (node: string, log: Array<Entry>) => {
  const record = (what: Entry["what"]) => (ctx: { readonly address: Address; readonly fence: Option.Option<number> }) =>
    Effect.sync(() => {
      log.push({ what, node, name: ctx.address.path.at(-1)!, fence: Option.getOrElse(ctx.fence, () => -1) })
    })
  return Actor.make("PartitionProbe", {
    protocol: [Increment, Where],
    initialState: () => 0,
    passivateAfter: "never",
    preStart: record("start"),
    postStop: record("stop"),
    receive: {
      Increment: (msg, ctx) => ctx.update((n) => n + msg.by),
      Where: (_, ctx) => Effect.map(ctx.get, (count) => ({ node, fence: Option.getOrElse(ctx.fence, () => -1), count }))
    }
  })
}

interface Node {
  readonly id: string
  readonly cluster: Cluster.Service
  readonly membership: Membership.Service
  readonly store: ClusterStore.Service
  readonly system: ActorSystem.Service
  readonly kind: ReturnType<typeof probe>
  /** Every event this node published so far. */
  readonly events: () => Effect.Effect<ReadonlyArray<EventStream.Event>>
}

type Timings = Pick<Cluster.Options, "ttl" | "heartbeat" | "margin" | "reapInterval">

/** A cluster node in this process on the store at `url`; closed (a graceful leave) with the scope. */
const startNode = (
  id: string,
  url: string,
  timings: Timings,
  log: Array<Entry>,
  stallTimeout?: Duration.DurationInput
) =>
  Effect.gen(function*() {
    const kind = probe(id, log)
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const context = yield* Layer.buildWithScope(
      Cluster.layer({
        ...timings,
        nodeId: id,
        kinds: [kind],
        sameHostProof: false, // one process for every node: only the lease can say who is dead
        redeployInterval: "250 millis",
        reconcileInterval: "1 second"
      }).pipe(
        Layer.provideMerge(Remoting.layer({ host: "127.0.0.1", port: 0, kinds: [kind] })),
        Layer.provideMerge(ActorSystem.layer({ name: id })),
        Layer.provideMerge(ClusterStore.layerPg({ url, maxConnections: 4, stallTimeout })),
        Layer.provide(Discovery.layerStatic([]))
      ),
      scope
    )
    const system = Context.get(context, ActorSystem.ActorSystem)
    const queue = yield* Scope.extend(system.subscribe, scope)
    const seen: Array<EventStream.Event> = []
    return {
      id,
      cluster: Context.get(context, Cluster.Cluster),
      membership: Context.get(context, Cluster.Cluster).membership,
      store: Context.get(context, ClusterStore.ClusterStore),
      system,
      kind,
      events: () =>
        Effect.map(Queue.takeAll(queue), (chunk) => {
          seen.push(...Chunk.toArray(chunk))
          return [...seen]
        })
    } satisfies Node
  })

/** A PostgreSQL schema of its own, dropped with the scope (after the nodes that use it). */
const schema = Effect.gen(function*() {
  const name = `ea_partition_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
  yield* Effect.acquireRelease(pgAdmin(`CREATE SCHEMA ${name}`), () => Effect.orDie(pgAdmin(`DROP SCHEMA ${name} CASCADE`)))
  return name
})

/** Polls `check` every 50 ms until it holds; fails after `within`. */
const until = <E>(what: string, check: Effect.Effect<boolean, E>, within: Duration.DurationInput = "20 seconds") =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(within)
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`not reached within ${Duration.format(within)}: ${what}`)
      yield* Effect.sleep("50 millis")
    }
  })

/** Where a name answers from, asked from `from` (a failure or a slow answer is `undefined`). */
const whereIs = (from: Node, name: string) =>
  from.cluster.sendSync(name, new Where()).pipe(
    Effect.timeout("2 seconds"),
    Effect.either,
    Effect.map(Either.getOrUndefined)
  )

const rows = (store: ClusterStore.Service, names: ReadonlyArray<string>) =>
  Effect.map(Effect.orDie(store.lookup(names)), (found) => names.map((name) => found.get(name)))

const member = (store: ClusterStore.Service, who: ClusterStore.Incarnation) =>
  Effect.map(Effect.orDie(store.view()), (view) =>
    Option.getOrThrow(view).members.find((m) => m.nodeId === who.nodeId && m.epoch === who.epoch))

/**
 * What every partition test starts from: a schema of its own, a proxy in
 * front of PostgreSQL, the nodes' timings (a lease of `ttl`) and the shared
 * log; `direct` and `proxied` are the store URLs without and through the proxy.
 */
const setting = (ttl: Timings["ttl"]) =>
  Effect.gen(function*() {
    const db = yield* schema
    const proxy = yield* tcpProxy({ host: "127.0.0.1", port: 5432 })
    const timings: Timings = { ttl, heartbeat: "500 millis", margin: "1 second", reapInterval: "250 millis" }
    const log: Array<Entry> = []
    return { proxy, timings, log, direct: pgUrl(db), proxied: pgUrl(db, proxy.port) }
  })

const everyoneSees = (nodes: ReadonlyArray<Node>) =>
  until(
    "every node sees every member",
    Effect.map(Effect.forEach(nodes, (node) => node.cluster.nodes), (views) => views.every((members) => members.length === nodes.length))
  )

const names = Array.from({ length: 12 }, (_, i) => `p-${i}`)

describe("issue 10: a node partitioned from PostgreSQL (TCP proxy)", () => {
  it.scopedLive("the proxy holds bytes both ways while blackholed and delivers them on heal", () =>
    Effect.gen(function*() {
      const echo = Net.createServer((socket) => socket.pipe(socket))
      const port = yield* Effect.acquireRelease(
        Effect.async<number>((resume) => {
          echo.listen(0, "127.0.0.1", () => resume(Effect.succeed((echo.address() as Net.AddressInfo).port)))
        }),
        () =>
          Effect.async<void>((resume) => {
            echo.close(() => resume(Effect.void))
          })
      )
      const proxy = yield* tcpProxy({ host: "127.0.0.1", port })
      const received: Array<string> = []
      const connect = () =>
        Effect.acquireRelease(
          Effect.async<Net.Socket>((resume) => {
            const socket = Net.connect({ host: "127.0.0.1", port: proxy.port }, () => resume(Effect.succeed(socket)))
            socket.on("data", (chunk) => received.push(chunk.toString()))
          }),
          (socket) => Effect.sync(() => socket.destroy())
        )
      const old = yield* connect()
      old.write("one")
      yield* until("the echo of one", Effect.sync(() => received.join("") === "one"), "5 seconds")
      yield* proxy.blackhole
      old.write("two")
      const fresh = yield* connect() // accepted, never connected on while blackholed
      fresh.write("three")
      yield* Effect.sleep("300 millis")
      expect(received.join("")).toBe("one")
      expect((yield* proxy.stats).held).toBeGreaterThan(0)
      yield* proxy.heal
      yield* until("the held bytes delivered", Effect.sync(() => received.join("").length === "onetwothree".length), "5 seconds")
      expect(received.slice(1).sort()).toEqual(["three", "two"])
      expect((yield* proxy.stats).connections).toBe(2)
    }))

  it.scopedLive("the cut-off node suspends before its actors reappear elsewhere, refuses spawns, and rejoins under a new epoch", () =>
    Effect.gen(function*() {
      const { direct, log, proxied, proxy, timings } = yield* setting("3 seconds")
      const a = yield* startNode("a", proxied, timings, log)
      const b = yield* startNode("b", direct, timings, log)
      const c = yield* startNode("c", direct, timings, log)
      yield* everyoneSees([a, b, c])
      yield* Effect.addFinalizer(() => proxy.heal) // a failed check while cut off: the nodes close on a healed link
      for (const name of names) yield* a.cluster.spawn(a.kind, name)
      for (const name of names) yield* c.cluster.sendAsync(name, new Increment({ by: 1 }))
      const onA = yield* Effect.forEach(names, (name) => whereIs(b, name))
      expect(onA.map((answer) => [answer?.node, answer?.count])).toEqual(names.map(() => ["a", 1]))
      const before = yield* rows(b.store, names)
      const old = yield* a.membership.self.get
      yield* a.membership.state.changes.pipe(
        Stream.runForEach((state) =>
          Effect.sync(() => {
            if (state === "suspended") log.push({ what: "suspended", node: "a", name: "", fence: -1 })
          })
        ),
        Effect.forkScoped
      )

      yield* proxy.blackhole
      // A spawn on a just before it knows: its claim goes into the cut and gets no answer while the cut lasts.
      const inFlight = yield* Effect.fork(a.cluster.spawn(a.kind, "in-flight"))
      yield* until("a suspended", Effect.map(a.membership.state.get, (state) => state === "suspended"))
      expect(yield* a.membership.active).toBe(false)
      // It fails with the suspension, while the cut lasts, rather than waiting for the store to answer.
      expect(yield* Fiber.join(inFlight).pipe(Effect.timeout("2 seconds"), Effect.flip)).toMatchObject({
        _tag: "ClusterSuspended",
        node: "a",
        actorName: "in-flight"
      })
      const refused = yield* a.cluster.spawn(a.kind, "late").pipe(Effect.timeout("5 seconds"), Effect.flip)
      expect(refused).toMatchObject({ _tag: "ClusterSuspended", node: "a", actorName: "late" })

      // Its actors answer again from b and c, each once, with fresh state and a larger fence.
      yield* until(
        "every probe answers from a survivor",
        Effect.map(
          Effect.forEach(names, (name) => whereIs(b, name), { concurrency: "unbounded" }),
          (answers) => answers.every((w) => w !== undefined && w.node !== "a")
        )
      )
      const moved = yield* Effect.forEach(names, (name) => whereIs(c, name))
      moved.forEach((answer, i) => {
        expect(answer!.node).toMatch(/^[bc]$/)
        expect(answer!.count).toBe(0)
        expect(answer!.fence).toBeGreaterThan(before[i]!.fence)
      })

      // The log: a suspended, and every actor of a stopped, strictly before the first adoption.
      const firstAdoption = log.findIndex((e) => e.what === "start" && e.node !== "a")
      const suspendedAt = log.findIndex((e) => e.what === "suspended")
      expect(suspendedAt).toBeGreaterThanOrEqual(0)
      expect(firstAdoption).toBeGreaterThan(suspendedAt)
      const stopsOfA = log.flatMap((e, i) => (e.what === "stop" && e.node === "a" ? [i] : []))
      expect(stopsOfA).toHaveLength(names.length)
      expect(Math.max(...stopsOfA)).toBeLessThan(firstAdoption)

      yield* proxy.heal
      yield* until("a rejoined", Effect.map(a.membership.self.get, (self) => self.epoch !== old.epoch))
      yield* until("a up", Effect.map(a.membership.state.get, (state) => state === "up"))
      const fresh = yield* a.membership.self.get
      expect(fresh.epoch).toBeGreaterThan(old.epoch)
      // The old incarnation stays dead: the store refuses to renew it.
      expect((yield* member(b.store, old))?.status).toBe("dead")
      expect((yield* member(b.store, fresh))?.status).toBe("up")
      expect(yield* Effect.orDie(b.store.renew(old, 3000))).toBe(false)
      expect((yield* a.events()).filter((e) => e._tag === "ClusterSuspended" || e._tag === "ClusterResumed")).toEqual([
        { _tag: "ClusterSuspended", nodeId: "a", epoch: old.epoch },
        { _tag: "ClusterResumed", nodeId: "a", epoch: fresh.epoch, rejoined: true }
      ].map((e) => expect.objectContaining(e)))
      for (const survivor of [b, c]) {
        yield* until(
          `${survivor.id} sees a's new incarnation`,
          Effect.map(survivor.events(), (events) => events.some((e) => e._tag === "NodeJoined" && e.nodeId === "a" && e.epoch === fresh.epoch))
        )
        // (a's first NodeJoined came before the survivors' event streams were subscribed to.)
        const story = (yield* survivor.events()).flatMap((e) =>
          e._tag === "NodeJoined" && e.nodeId === "a"
            ? [`joined ${e.epoch}`]
            : e._tag === "NodeLeft" && e.nodeId === "a"
            ? [`left ${e.epoch} ${e.reason}`]
            : []
        )
        expect(story).toEqual([`left ${old.epoch} dead`, `joined ${fresh.epoch}`])
      }

      // Back up, a spawns again; the adopted names stay where they are (a NameTaken names their owner).
      yield* a.cluster.spawn(a.kind, "late")
      expect((yield* whereIs(b, "late"))?.node).toBe("a")
      expect(yield* Effect.flip(a.cluster.spawn(a.kind, names[0]!))).toMatchObject({ _tag: "NameTaken", node: moved[0]!.node })
      yield* Effect.sleep("1500 millis") // past a reconcile on every node: a restarts nothing of its old incarnation
      const after = yield* rows(b.store, names)
      after.forEach((row, i) => {
        expect(row?.owner.nodeId).toBe(moved[i]!.node)
        expect(row?.fence).toBe(moved[i]!.fence)
        expect(row?.live).toBe(true)
      })

      // The claim of the spawn that failed, answered at the heal, holds nothing.
      yield* until("no row for in-flight", Effect.map(rows(b.store, ["in-flight"]), ([row]) => row === undefined), "5 seconds")
      // Never two live instances of a name: per name, starts and stops alternate, one start more than stops.
      for (const name of [...names, "late"]) {
        const life = log.filter((e) => e.name === name).map((e) => e.what)
        expect(life).toEqual(name === "late" ? ["start"] : ["start", "stop", "start"])
      }
      expect(log.filter((e) => e.what === "start" && e.node === "a").map((e) => e.name)).toEqual([...names, "late"])
    }))

  it.scopedLive("an outage shorter than the lease moves nothing: same epoch, owners, fences and actor state", () =>
    Effect.gen(function*() {
      const { direct, log, proxied, proxy, timings } = yield* setting("4 seconds")
      const b = yield* startNode("b", direct, timings, log)
      const c = yield* startNode("c", direct, timings, log)
      const a = yield* startNode("a", proxied, timings, log)
      yield* everyoneSees([a, b, c])
      for (const name of names) yield* a.cluster.spawn(a.kind, name)
      for (const name of names) yield* b.cluster.sendAsync(name, new Increment({ by: 1 }))
      const before = yield* rows(b.store, names)
      const epoch = yield* a.membership.self.get
      // b and c hold their leases for a full ttl: from here on they would reap a's if it expired.
      yield* Effect.sleep("4 seconds")

      yield* proxy.blackhole
      yield* Effect.sleep("1 second")
      const { held } = yield* proxy.stats
      expect(held).toBeGreaterThan(0) // a's store traffic really was cut
      const healedAt = yield* Effect.orDie(b.store.now)
      yield* proxy.heal
      // A renewal that landed after the heal: the lease of the same incarnation never lapsed (dead cannot be renewed).
      yield* until(
        "a's lease renewed after the heal",
        Effect.map(member(b.store, epoch), (m) => m !== undefined && m.status === "up" && m.expiresAt >= healedAt + 4000),
        "10 seconds"
      )
      for (const name of names) yield* c.cluster.sendAsync(name, new Increment({ by: 1 }))
      const answers = yield* Effect.forEach(names, (name) => whereIs(c, name))
      expect(answers.map((w) => [w?.node, w?.count])).toEqual(names.map(() => ["a", 2])) // never restarted
      expect(yield* rows(b.store, names)).toEqual(before)
      expect(yield* a.membership.self.get).toEqual(epoch)
      expect(yield* a.membership.state.get).toBe("up")
      const moves = new Set(["ClusterSuspended", "NodeLeft", "RedeployStarted", "RedeployFinished", "RedeployFailed"])
      for (const node of [a, b, c]) expect((yield* node.events()).filter((e) => moves.has(e._tag))).toEqual([])
      expect(log.map((e) => `${e.what} ${e.node} ${e.name}`)).toEqual(names.map((name) => `start a ${name}`))
    }))
  it.scopedLive("a partition that drops the open connections for good: the node rejoins over new ones", () =>
    Effect.gen(function*() {
      const { direct, log, proxied, proxy, timings } = yield* setting("3 seconds")
      const a = yield* startNode("a", proxied, timings, log, "2 seconds")
      const b = yield* startNode("b", direct, timings, log)
      yield* everyoneSees([a, b])
      yield* Effect.addFinalizer(() => proxy.heal)
      const few = names.slice(0, 4)
      for (const name of few) yield* a.cluster.spawn(a.kind, name)
      const old = yield* a.membership.self.get
      yield* proxy.blackhole
      yield* until("a declared dead", Effect.map(member(b.store, old), (m) => m?.status === "dead"))
      const before = yield* proxy.stats
      // The network is back for new connections; a's open ones stay cut for good (a firewall that lost its state).
      yield* proxy.reopen
      yield* until("a rejoined", Effect.map(a.membership.self.get, (self) => self.epoch !== old.epoch), "15 seconds")
      yield* until("a up", Effect.map(a.membership.state.get, (state) => state === "up"))
      expect((yield* proxy.stats).connections).toBeGreaterThan(before.connections) // over new connections
      expect((yield* a.membership.self.get).epoch).toBeGreaterThan(old.epoch)
      const answers = yield* Effect.forEach(few, (name) => whereIs(a, name))
      expect(answers.map((w) => w?.node)).toEqual(few.map(() => "b"))
      yield* a.cluster.spawn(a.kind, "after")
      expect((yield* whereIs(b, "after"))?.node).toBe("a")
    }))
})
