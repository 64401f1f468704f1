/**
 * Raw sockets that speak (or abuse) the node-to-node wire, for the hostile
 * and fuzz tests.
 */
import { Effect } from "effect"
import * as Net from "node:net"
import { FrameType, hello } from "../../src/Remoting/internal/frame.js"

/** A length-prefixed frame with any type byte and body. */
export const rawFrame = (type: number, body: Uint8Array): Buffer => {
  const buffer = Buffer.allocUnsafe(5 + body.length)
  buffer.writeUInt32BE(1 + body.length, 0)
  buffer[4] = type
  buffer.set(body, 5)
  return buffer
}

export { FrameType, hello }

/** Opens a plain socket (answers are read and dropped); resolves once connected. */
export const openSocket = (port: number) =>
  Effect.async<Net.Socket, Error>((resume) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    socket.on("error", () => {})
    socket.on("data", () => {})
    socket.once("connect", () => resume(Effect.succeed(socket)))
    socket.once("close", () => resume(Effect.fail(new Error("closed before connecting"))))
  })

/**
 * Opens a socket and completes the handshake (with `token` when the node
 * wants one). Fails when the node refuses, or closes the socket without
 * answering (as it does beyond its connection limit).
 */
export const openAuthenticated = (port: number, token?: string) =>
  Effect.flatMap(openSocket(port), (socket) =>
    Effect.async<Net.Socket, Error>((resume) => {
      socket.once("data", (chunk: Buffer) => {
        // Welcome: [len][type=2][status=0 accepted]...
        if (chunk[4] === FrameType.Welcome && chunk[5] === 0) resume(Effect.succeed(socket))
        else resume(Effect.fail(new Error("refused")))
      })
      socket.once("close", () => resume(Effect.fail(new Error("closed before the handshake completed"))))
      if (socket.destroyed) resume(Effect.fail(new Error("closed before the handshake completed")))
      else socket.write(hello(token, "attacker"))
    }))

/** Resolves when the peer closes the socket (or after `millis`, with false). */
export const closedWithin = (socket: Net.Socket, millis: number) =>
  Effect.async<boolean>((resume) => {
    if (socket.destroyed || socket.readableEnded) return resume(Effect.succeed(true))
    const timer = setTimeout(() => resume(Effect.succeed(false)), millis)
    socket.once("close", () => {
      clearTimeout(timer)
      resume(Effect.succeed(true))
    })
  })
