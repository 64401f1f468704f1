/**
 * Protocols, actors and node helpers shared by the remoting tests (in one
 * process and across processes).
 */
import { Context, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import * as Net from "node:net"
import { Actor, ActorSystem, Message, Pid, Remoting } from "../../src/index.js"

import { Divide, DivisionByZero, GetCount, Increment } from "../helpers.js"

// The local tests' protocol, reused: the same classes must decode on both sides.
export { Divide, DivisionByZero, GetCount, Increment }

export class Append extends Schema.TaggedClass<Append>()("Append", { n: Schema.Number }) {}

export class GetList extends Schema.TaggedRequest<GetList>()("GetList", {
  payload: {},
  success: Schema.Array(Schema.Number),
  failure: Schema.Never
}) {}

export class Sleep extends Schema.TaggedRequest<Sleep>()("Sleep", {
  payload: { millis: Schema.Number },
  success: Schema.String,
  failure: Schema.Never
}) {}

/** A counter that also keeps the list of appended numbers (to check order). */
export const Counter = Actor.make("Counter", {
  protocol: [Increment, GetCount, Divide, Append, GetList, Sleep],
  initialState: () => ({ count: 0, list: [] as Array<number> }),
  passivateAfter: "never",
  receive: {
    Increment: (msg, ctx) => ctx.update((s) => ({ ...s, count: s.count + msg.by })),
    GetCount: (_, ctx) => Effect.map(ctx.get, (s) => s.count),
    Divide: (msg) =>
      msg.divisor === 0
        ? Effect.fail(new DivisionByZero({ dividend: msg.dividend }))
        : Effect.succeed(msg.dividend / msg.divisor),
    Append: (msg, ctx) =>
      Effect.sync(() => {
        ctx.state.list.push(msg.n)
      }),
    GetList: (_, ctx) => Effect.sync(() => [...ctx.state.list]),
    Sleep: (msg) => Effect.as(Effect.sleep(msg.millis), "slept")
  }
})

export class Ping extends Schema.TaggedClass<Ping>()("Ping", { n: Schema.Number }) {}
export class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Number }) {}

/** Replies to the sender of every Ping with a Pong (a tell back across nodes). */
export const Ponger = Actor.make("Ponger", {
  protocol: [Ping],
  passivateAfter: "never",
  receive: {
    Ping: (msg, ctx) =>
      Option.match(ctx.sender, {
        onNone: () => Effect.void,
        onSome: (sender) => Effect.ignore(sender.tell(new Pong({ n: msg.n })))
      })
  }
})

export class SendPing extends Schema.TaggedClass<SendPing>()("SendPing", { to: Schema.Any, n: Schema.Number }) {}
export class GetPongs extends Schema.TaggedRequest<GetPongs>()("GetPongs", {
  payload: {},
  success: Schema.Array(Schema.Number),
  failure: Schema.Never
}) {}

/** Sends Pings to a (remote) PID and records the Pongs that come back. */
export const Pinger = Actor.make("Pinger", {
  protocol: [SendPing, Pong, GetPongs],
  initialState: () => [] as Array<number>,
  passivateAfter: "never",
  receive: {
    SendPing: (msg) => Effect.ignore((msg.to as Pid.Pid<Ping>).tell(new Ping({ n: msg.n }))),
    Pong: (msg, ctx) => ctx.update((pongs) => [...pongs, msg.n]),
    GetPongs: (_, ctx) => ctx.get
  }
})

export class WatchIt extends Schema.TaggedClass<WatchIt>()("WatchIt", { target: Schema.Any }) {}
export class GetTerminated extends Schema.TaggedRequest<GetTerminated>()("GetTerminated", {
  payload: {},
  success: Schema.Array(Schema.Struct({ address: Schema.String, reason: Schema.String })),
  failure: Schema.Never
}) {}

/** Watches the PIDs it is given and records every Terminated. */
export const Watcher = Actor.make("Watcher", {
  protocol: [WatchIt, GetTerminated],
  initialState: () => [] as Array<{ address: string; reason: string }>,
  passivateAfter: "never",
  receive: {
    WatchIt: (msg, ctx) => ctx.watch(msg.target as Pid.Pid<never>),
    GetTerminated: (_, ctx) => ctx.get,
    Terminated: (msg: Message.Terminated, ctx) =>
      ctx.update((list) => [...list, { address: msg.address, reason: msg.reason }])
  }
})

/** A running node for a test: its system, its remoting, and how to stop it. */
export interface TestNode {
  readonly system: ActorSystem.Service
  readonly remoting: Remoting.Service
  /** Resolves addresses as the node does when it decodes a PID (`Pid.schema`). */
  readonly resolver: Pid.Resolver["Type"]
  readonly port: number
  readonly close: Effect.Effect<void>
}

export const startNode = (
  name: string,
  options: Remoting.Options = {}
): Effect.Effect<TestNode, unknown> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      Remoting.layer({ kinds: [Counter, Ponger], ...options }).pipe(
        Layer.provideMerge(ActorSystem.layer({ name, askTimeout: "3 seconds", shutdownTimeout: "2 seconds" }))
      ),
      scope
    )
    const remoting = Context.get(context, Remoting.Remoting)
    return {
      system: Context.get(context, ActorSystem.ActorSystem),
      remoting,
      resolver: Context.get(context, Pid.Resolver),
      port: remoting.port,
      close: Scope.close(scope, Exit.void)
    }
  })

/** Starts a node that closes with the test's scope. */
export const scopedNode = (name: string, options: Remoting.Options = {}) =>
  Effect.acquireRelease(startNode(name, options), (node) => node.close)

/** Appends slowly (1 ms per message): a consumer slower than any sender. */
export const SlowSink = Actor.make("SlowSink", {
  protocol: [Append, GetList],
  initialState: () => [] as Array<number>,
  passivateAfter: "never",
  receive: {
    Append: (msg, ctx) =>
      Effect.zipRight(
        Effect.sleep("1 millis"),
        Effect.sync(() => {
          ctx.state.push(msg.n)
        })
      ),
    GetList: (_, ctx) => Effect.sync(() => [...ctx.state])
  }
})

/** A TCP server that accepts connections and never answers: every call stays in flight. */
export const blackHole = Effect.acquireRelease(
  Effect.async<{ readonly server: Net.Server; readonly port: number; readonly sockets: Set<Net.Socket> }>((resume) => {
    const sockets = new Set<Net.Socket>()
    const server = Net.createServer((socket) => {
      sockets.add(socket)
      socket.on("data", () => {})
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({ server, port: (server.address() as Net.AddressInfo).port, sockets })))
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const socket of sockets) socket.destroy()
      server.close(() => resume(Effect.void))
    })
)
