/**
 * The receiving side of the remote benchmark, run as its own process by
 * `bench/remote.ts`: an actor node (plain TCP, and TLS when certificates are
 * given on stdin) with a `Sink` kind, and a bare `@effect/rpc` echo server
 * over the same transport for comparison. Prints one JSON line with the
 * ports, then serves until stdin closes.
 */
import * as SocketServer from "@effect/platform/SocketServer"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Layer } from "effect"
import { ActorSystem, Remoting } from "../src/index.js"
import * as Transport from "../src/Remoting/Transport.js"
import { BareRpcs, Sink } from "./remote-protocol.js"

const serveBare = (tls: Transport.TlsOptions | undefined) =>
  Effect.gen(function*() {
    const server = yield* Transport.makeServer({ host: "127.0.0.1", port: 0, tls })
    yield* Layer.launch(
      RpcServer.layer(BareRpcs, { disableTracing: true }).pipe(
        Layer.provide(BareRpcs.toLayer({ Echo: ({ n }) => Effect.succeed(n) })),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provide(Layer.succeed(SocketServer.SocketServer, server)),
        Layer.provide(RpcSerialization.layerMsgPack)
      )
    ).pipe(Effect.forkScoped)
    return server.address._tag === "TcpAddress" ? server.address.port : 0
  })

const readStdin = (): Promise<string> =>
  new Promise((resolve) => {
    let text = ""
    process.stdin.setEncoding("utf8")
    process.stdin.on("data", (chunk) => {
      text += chunk
      if (text.includes("\n")) resolve(text.slice(0, text.indexOf("\n")))
    })
  })

const main = Effect.gen(function*() {
  const input = JSON.parse(yield* Effect.promise(readStdin)) as {
    readonly cert?: string
    readonly key?: string
  }
  const tls = input.cert === undefined ? undefined : { cert: input.cert, key: input.key ?? "" }
  const node = (name: string, serverTls: Transport.TlsOptions | undefined) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Remoting.layer({ kinds: [Sink], ...(serverTls === undefined ? {} : { serverTls }) }).pipe(
          Layer.provideMerge(ActorSystem.layer({ name, passivateAfter: "never" }))
        )
      )
      return (yield* Effect.provide(Remoting.Remoting, context)).port
    })
  const ports = {
    node: yield* node("receiver", undefined),
    bare: yield* serveBare(undefined),
    ...(tls === undefined ? {} : { tlsNode: yield* node("receiver-tls", tls), tlsBare: yield* serveBare(tls) })
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`)
  yield* Effect.async<void>((resume) => {
    process.stdin.on("end", () => resume(Effect.void))
    process.stdin.on("close", () => resume(Effect.void))
  })
})

Effect.runPromise(Effect.scoped(main)).then(() => process.exit(0), (error) => {
  console.error(error)
  process.exit(1)
})
