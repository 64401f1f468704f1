/**
 * The same-host death proof (Linux): a process is provably gone when its pid
 * no longer exists (`kill(pid, 0)` gives ESRCH) or belongs to a process
 * started at another time (`/proc/<pid>/stat`, field 22). Hosts are told
 * apart by the boot id plus the pid namespace, so two containers with their
 * own pid namespaces never judge each other.
 */
import { readFileSync, readlinkSync } from "node:fs"
import type { HostProcess } from "../ClusterStore.js"

/** The start time of a process, in clock ticks since boot; undefined when unreadable. */
const statFields = (pid: number): Array<string> | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  } catch {
    return undefined
  }
}

export const startTime = (pid: number): number | undefined => {
  const value = Number(statFields(pid)?.[19])
  return Number.isFinite(value) ? value : undefined
}

/** This host's identity, or undefined where there is no /proc (no proof then). */
export const hostId = (): string | undefined => {
  try {
    const boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
    return `${boot}/${readlinkSync("/proc/self/ns/pid")}`
  } catch {
    return undefined
  }
}

/** This process, as recorded in its lease. */
export const current = (): HostProcess | undefined => {
  const host = hostId()
  const start = startTime(process.pid)
  return host === undefined || start === undefined ? undefined : { hostId: host, pid: process.pid, pidStart: start }
}

/** Whether `other`, recorded on this host, has provably exited. Anything unclear is no proof. */
export const isGone = (other: HostProcess, host: string | undefined): boolean => {
  if (host === undefined || other.hostId !== host) return false
  try {
    process.kill(other.pid, 0)
  } catch (error) {
    if ((error as { readonly code?: string }).code === "ESRCH") return true
    if ((error as { readonly code?: string }).code !== "EPERM") return false
  }
  const fields = statFields(other.pid)
  if (fields === undefined) return false
  // A zombie (`Z`, or `X` being reaped) has exited, whichever process it was: only its parent's wait is missing.
  if (fields[0] === "Z" || fields[0] === "X") return true
  const start = Number(fields[19])
  return Number.isFinite(start) && start !== other.pidStart
}
