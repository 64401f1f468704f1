/**
 * The receiving side of the remote benchmark, run as its own process by
 * `bench/remote.ts`: an actor node in plain TCP and one in TLS (certificates
 * on stdin) with a `Sink` kind, and a raw `node:net` echo server (the
 * baseline: every chunk is written back as it is). Prints one JSON line with
 * the ports, then serves until stdin closes.
 */
import { Effect, Layer } from "effect"
import * as Net from "node:net"
import { ActorSystem, Remoting } from "../src/index.js"
import type * as Transport from "../src/Remoting/Transport.js"
import { Sink, SlowSeq } from "./remote-protocol.js"

const serveRaw = Effect.async<number>((resume) => {
  const server = Net.createServer((socket) => {
    socket.setNoDelay(true)
    socket.on("data", (chunk) => socket.write(chunk))
    socket.on("error", () => {})
  })
  server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as Net.AddressInfo).port)))
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
  const input = JSON.parse(yield* Effect.promise(readStdin)) as { readonly cert?: string; readonly key?: string }
  const tls = input.cert === undefined ? undefined : { cert: input.cert, key: input.key ?? "" }
  const node = (name: string, serverTls: Transport.TlsOptions | undefined) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        Remoting.layer({ kinds: [Sink, SlowSeq], ...(serverTls === undefined ? {} : { serverTls }) }).pipe(
          Layer.provideMerge(ActorSystem.layer({ name, passivateAfter: "never" }))
        )
      )
      return (yield* Effect.provide(Remoting.Remoting, context)).port
    })
  const ports = {
    node: yield* node("receiver", undefined),
    raw: yield* serveRaw,
    ...(tls === undefined ? {} : { tlsNode: yield* node("receiver-tls", tls) })
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
