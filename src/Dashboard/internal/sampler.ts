/**
 * One node's report: a pass over its actors every sampling interval (rates
 * are the difference between two passes), the last failure of each actor
 * and the latest deadletters from the event stream. Nothing here runs per
 * message: the actors' counters are plain fields read once per pass.
 *
 * @internal
 */
import { Duration, Option } from "effect"
import type * as Events from "../../EventStream.js"
import type * as Scheduler from "../../Scheduler.js"
import * as GrainName from "../../Cluster/internal/grainName.js"
import type { Cell } from "../../internal/cell.js"
import type { SystemImpl } from "../../internal/system.js"
import type { ActorReport, DeadletterReport, Failure, GrainReport, LocalReport, ScheduleReport } from "./model.js"

/** The events a sampler listens to. */
export const sampledEvents = ["ActorRestarted", "ActorSuspended", "ActorStopped", "Deadletter"] as const

/** Top-level names under `ea.` are the framework's own actors (cluster control, reporter): not listed. */
export interface SamplerSettings {
  /** Most actors listed per report. */
  readonly maxActors: number
  /** How many deadletters the tail keeps. */
  readonly deadletterTail: number
}

const tagOf = (message: unknown): string => {
  const tag = typeof message === "object" && message !== null ? (message as { readonly _tag?: unknown })._tag : undefined
  return typeof tag === "string" ? tag : "?"
}

const describeTrigger = (trigger: Scheduler.Trigger): string => {
  switch (trigger._tag) {
    case "Once":
      return `once after ${Duration.format(trigger.delay)}`
    case "Interval":
      return `every ${Duration.format(trigger.interval)}`
    case "Cron":
      return `cron ${trigger.expression} (${trigger.timeZone})`
  }
}

/** A schedule as the dashboard shows it. */
export const scheduleReport = (info: Scheduler.ScheduleInfo): ScheduleReport => ({
  reference: info.reference,
  target: info.target.toString(),
  messageTag: info.messageTag,
  trigger: describeTrigger(info.trigger),
  paused: info.paused,
  nextFireAt: Option.match(info.nextFireAt, { onNone: () => null, onSome: (date) => date.getTime() }),
  fired: info.fired
})

export class Sampler {
  /** The last failure by actor address; bounded (oldest dropped first). */
  private readonly failures = new Map<string, Failure>()
  private readonly tail: Array<DeadletterReport> = []
  private previous = new Map<string, number>()
  /** When the sampler first saw each resident grain (by address): its activation, to within one interval. */
  private grainsSeen = new Map<string, number>()
  private previousAt = -1
  private previousProcessed = 0
  private previousDeadletters = 0
  /** The latest report (before the first pass: an empty one). */
  latest: LocalReport

  constructor(
    private readonly impl: SystemImpl,
    private readonly settings: SamplerSettings,
    private readonly address: string
  ) {
    this.latest = this.empty()
  }

  private empty(): LocalReport {
    return {
      system: this.impl.name,
      address: this.address,
      at: this.impl.timers.now(),
      actorCount: 0,
      actors: [],
      truncated: false,
      processed: 0,
      processedPerSecond: 0,
      deadletters: { total: 0, perSecond: 0, latest: [] },
      schedules: [],
      grains: []
    }
  }

  /** Keeps what a report needs from an event. */
  onEvent(event: Events.Event): void {
    const now = this.impl.timers.now()
    switch (event._tag) {
      case "ActorRestarted":
        if (event.error !== undefined) this.failed(event.address.toString(), now, event.error)
        return
      case "ActorSuspended":
        this.failed(event.address.toString(), now, event.error)
        return
      case "ActorStopped":
        if (event.error !== undefined) this.failed(event.address.toString(), now, event.error)
        return
      case "Deadletter":
        this.tail.push({
          at: now,
          recipient: event.recipient.toString(),
          sender: event.sender === undefined ? null : event.sender.toString(),
          tag: tagOf(event.message),
          reason: event.reason
        })
        if (this.tail.length > this.settings.deadletterTail) this.tail.shift()
        return
    }
  }

  private failed(address: string, at: number, error: string): void {
    this.failures.delete(address)
    this.failures.set(address, { at, error: error.length > 500 ? `${error.slice(0, 500)}…` : error })
    if (this.failures.size > this.settings.maxActors) {
      const oldest = this.failures.keys().next()
      if (oldest.done !== true) this.failures.delete(oldest.value)
    }
  }

  /**
   * One pass: reads every actor's counters, computes rates since the last
   * pass. Grains (cluster names `~Kind~~id`) are listed apart, unless the
   * grain layer reports them itself (`grains`).
   */
  sample(
    schedules: ReadonlyArray<Scheduler.ScheduleInfo>,
    grains: ReadonlyArray<GrainReport> | undefined
  ): LocalReport {
    const impl = this.impl
    const now = impl.timers.now()
    const seconds = this.previousAt < 0 ? 0 : (now - this.previousAt) / 1000
    const rate = (delta: number) => (seconds > 0 ? Math.max(0, delta) / seconds : 0)
    const cells: Array<Cell> = []
    const residents: Array<GrainReport> = []
    const seen = new Map<string, number>()
    for (const cell of impl.list()) {
      if (cell.parent !== undefined) cells.push(cell)
      else if (GrainName.isGrainName(cell.name)) {
        const grain = GrainName.decode(cell.name)
        if (grain === undefined || residents.length >= this.settings.maxActors) continue
        const address = cell.addressString()
        const activatedAt = this.grainsSeen.get(address) ?? now
        seen.set(address, activatedAt)
        residents.push({
          kind: grain.kind,
          key: grain.id,
          address,
          activatedAt,
          deactivatesAt: impl.timers.deadlineOf(cell) ?? null
        })
      } else if (!cell.name.startsWith("ea.")) cells.push(cell)
    }
    this.grainsSeen = seen
    const actors: Array<ActorReport> = []
    const next = new Map<string, number>()
    for (const cell of cells) {
      if (actors.length >= this.settings.maxActors) break
      const address = cell.addressString()
      const before = this.previous.get(address)
      next.set(address, cell.processed)
      const fence = cell.parent === undefined ? impl.cluster?.fence(cell) : undefined
      const passivatesAt = cell.options.passivateMillis > 0 ? impl.timers.deadlineOf(cell) : undefined
      actors.push({
        name: cell.path().join("/"),
        address,
        kind: cell.def.kind,
        mailbox: cell.mailboxSize,
        processed: cell.processed,
        perSecond: before === undefined ? 0 : rate(cell.processed - before),
        restarts: cell.restartCount,
        lastFailure: this.failures.get(address) ?? null,
        passivatesAt: passivatesAt ?? null,
        fence: fence ?? null
      })
    }
    const report: LocalReport = {
      system: impl.name,
      address: this.address,
      at: now,
      actorCount: cells.length,
      actors,
      truncated: cells.length > actors.length,
      processed: impl.processed,
      processedPerSecond: this.previousAt < 0 ? 0 : rate(impl.processed - this.previousProcessed),
      deadletters: {
        total: impl.deadletterCount,
        perSecond: this.previousAt < 0 ? 0 : rate(impl.deadletterCount - this.previousDeadletters),
        latest: [...this.tail]
      },
      schedules: schedules.map(scheduleReport),
      grains: grains ?? residents
    }
    this.previous = next
    this.previousAt = now
    this.previousProcessed = impl.processed
    this.previousDeadletters = impl.deadletterCount
    this.latest = report
    return report
  }
}
