/**
 * Death watch: who is told with `Terminated` when an actor stops.
 *
 * @internal
 */
import { Terminated } from "../../Message.js"
import type { Cell } from "../cell.js"
import { STOPPED } from "./status.js"

/** `watcher` is sent `Terminated` when `target` stops (at once if it has). */
export const watch = (watcher: Cell, target: Cell): void => {
  if (target === watcher) return
  if (target.status === STOPPED) {
    watcher.sendSystem(new Terminated({ address: target.addressString(), reason: "Stopped" }, true), target.pid)
    return
  }
  ;(target.extras.watchers ??= new Set()).add(watcher)
  ;(watcher.extras.watching ??= new Set()).add(target)
}

export const unwatch = (watcher: Cell, target: Cell): void => {
  target.x?.watchers?.delete(watcher)
  watcher.x?.watching?.delete(target)
}

/** `cell` stopped: its watchers get `Terminated`, and its own watches end. */
export const notifyWatchers = (cell: Cell, reason: string): void => {
  const x = cell.x
  if (x === undefined) return
  if (x.watchers !== undefined) {
    const terminated = new Terminated({ address: cell.addressString(), reason }, true)
    for (const watcher of x.watchers) {
      watcher.x?.watching?.delete(cell)
      watcher.sendSystem(terminated, cell.pid)
    }
    x.watchers = undefined
  }
  if (x.watching !== undefined) {
    for (const target of x.watching) target.x?.watchers?.delete(cell)
    x.watching = undefined
  }
}
