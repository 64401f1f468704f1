/**
 * The system's `Pid.Resolver`: an address of this node resolves to the live
 * local actor there; any other address to a remote PID when remoting is on
 * (no connection is opened until something is sent).
 *
 * @internal
 */
import type { Address } from "../Address.js"
import type { Tagged } from "../Message.js"
import type { Pid, Resolver } from "../Pid.js"
import type { SystemImpl } from "./system.js"

const isThisNode = (impl: SystemImpl, address: Address): boolean =>
  address.host === "" || (address.host === impl.host && address.port === impl.port)

/** @internal */
export const resolverOf = (impl: SystemImpl): Resolver["Type"] => ({
  resolve: (address): Pid<Tagged> | undefined => {
    if (isThisNode(impl, address)) {
      // Another system's name on this node's host and port: a stale address.
      if (address.system !== "" && address.system !== impl.name) return undefined
      return impl.lookup(address.path.join("/"))?.pid as Pid<Tagged> | undefined
    }
    return impl.remote?.pid(address) as Pid<Tagged> | undefined
  }
})
