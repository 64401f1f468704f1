/**
 * The scenarios, each written three times: for `effect-actors` through its
 * public API (`Actor.make`, `ActorSystem.make`, `pid.tell`, `pid.ask`, with
 * every system default, passivation included), for the obvious Effect actor
 * and for the plain JS actor. Every run counts messages in the handlers and
 * ends only when the count is reached.
 *
 * The handlers are as trivial as can be and the same in all three (count, and
 * reply for an ask), so what is measured is the cost of the actor machinery.
 * Every send builds a new message, as users write it: ours with the
 * protocol's constructors (`Message.constructors`, the README's way), the
 * baselines with plain objects. `tell(impl, n, { reused: true })` sends one
 * message instance again and again instead (the `tell-reused` row).
 */
import { Deferred, Effect, Schema } from "effect"
import { Actor, ActorSystem, Message, type Pid } from "../src/index.js"
import * as EffectActor from "./baselines/EffectActor.js"
import { JsActor, type Request as JsRequest } from "./baselines/JsActor.js"
import { type AskStats, askStats, heapAfterGc, Probe, times, within } from "./harness.js"

/** The implementations compared. */
export type Impl = "ours" | "effect" | "js"

class Tick extends Schema.TaggedClass<Tick>()("Tick", { n: Schema.Number }) {}
class Ping extends Schema.TaggedRequest<Ping>()("Ping", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}
class Produce extends Schema.TaggedClass<Produce>()("Produce", { count: Schema.Number }) {}

/** The messages as the README builds them, one per send. */
const make = Message.constructors([Tick, Ping, Produce])
/** One instance, for the reused-message row and for the idle-actor checks. */
const tick = new Tick({ n: 0 })

/** The baselines' messages: plain objects. */
interface TickPlain {
  readonly _tag: "Tick"
  readonly n: number
}
interface ProducePlain {
  readonly _tag: "Produce"
  readonly count: number
}

interface PingEffect extends EffectActor.Request<number> {
  readonly _tag: "Ping"
}
interface PingJs extends JsRequest<number> {
  readonly _tag: "Ping"
}

const now = (): number => performance.now()

/** Wraps every program a scenario runs (`ops.ts` uses it to count Effect operations). */
let instrument = <A, E>(program: Effect.Effect<A, E>): Effect.Effect<A, E> => program

/** Sets the wrapper applied to every program a scenario runs. */
export const setInstrument = (f: <A, E>(program: Effect.Effect<A, E>) => Effect.Effect<A, E>): void => {
  instrument = f
}

const run = <A, E>(program: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(instrument(program))

/** Builds an actor system with every default, runs `f` in it, and closes it. */
const withSystem = <A>(f: (system: ActorSystem.Service) => Effect.Effect<A, unknown>): Promise<A> =>
  run(
    Effect.scoped(Effect.flatMap(ActorSystem.make({ name: "bench" }), f)).pipe(Effect.orDie)
  )

// ------------------------------------------------------------------- tell

/**
 * `n` tells from one sender to one actor, a new message per send (or one
 * message reused); messages per second, until the actor has handled all.
 */
export const tell = (impl: Impl, n: number, options?: { readonly reused?: boolean }): Promise<number> => {
  const probe = new Probe()
  const hit = Effect.sync(probe.hit)
  const reused = options?.reused === true
  let i = 0
  switch (impl) {
    case "ours": {
      const Sink = Actor.make("Sink", { protocol: [Tick], receive: { Tick: () => hit } })
      return withSystem((system) =>
        Effect.gen(function*() {
          const sink = yield* system.spawn(Sink, "sink")
          const done = probe.arm(n)
          const t0 = now()
          yield* times(n, reused ? () => sink.tell(tick) : () => sink.tell(make.Tick({ n: i++ })))
          yield* Effect.promise(() => within(done, "tell/ours"))
          return n / ((now() - t0) / 1000)
        })
      )
    }
    case "effect":
      return run(Effect.gen(function*() {
        const sink = yield* EffectActor.spawn<TickPlain>(() => hit)
        const done = probe.arm(n)
        const t0 = now()
        yield* times(n, reused ? () => EffectActor.tell(sink, tick) : () => EffectActor.tell(sink, { _tag: "Tick" as const, n: i++ }))
        yield* Effect.promise(() => within(done, "tell/effect"))
        const rate = n / ((now() - t0) / 1000)
        yield* EffectActor.stop(sink)
        return rate
      }))
    case "js":
      return (async () => {
        const sink = new JsActor<TickPlain>(probe.hit)
        const done = probe.arm(n)
        const t0 = now()
        if (reused) for (let i = 0; i < n; i++) sink.tell(tick)
        else for (let i = 0; i < n; i++) sink.tell({ _tag: "Tick" as const, n: i })
        await within(done, "tell/js")
        const rate = n / ((now() - t0) / 1000)
        sink.stop()
        return rate
      })()
  }
}

// -------------------------------------------------------------------- ask

/** `n` sequential asks from one sender to one actor; throughput and latency. */
export const ask = (impl: Impl, n: number): Promise<AskStats> => {
  const probe = new Probe()
  const latencies = new Float64Array(n)
  const check = (what: string) => {
    if (probe.count !== n) throw new Error(`${what}: ${probe.count} asks handled, expected ${n}`)
  }
  switch (impl) {
    case "ours": {
      const reply = Effect.sync(() => ++probe.count)
      const Echo = Actor.make("Echo", { protocol: [Ping], receive: { Ping: () => reply } })
      return withSystem((system) =>
        Effect.gen(function*() {
          const echo = yield* system.spawn(Echo, "echo")
          probe.arm(n)
          let i = 0
          const t0 = now()
          yield* Effect.whileLoop({
            while: () => i < n,
            body: () => {
              const start = now()
              return Effect.map(echo.ask(make.Ping()), () => {
                latencies[i] = now() - start
              })
            },
            step: () => {
              i++
            }
          })
          const total = now() - t0
          check("ask/ours")
          return askStats(latencies, total)
        })
      )
    }
    case "effect": {
      const reply = Effect.sync(() => ++probe.count)
      const handle = (message: PingEffect) =>
        Effect.flatMap(reply, (count) => Effect.asVoid(Deferred.succeed(message.reply, count)))
      return run(Effect.gen(function*() {
        const echo = yield* EffectActor.spawn(handle)
        probe.arm(n)
        let i = 0
        const t0 = now()
        yield* Effect.whileLoop({
          while: () => i < n,
          body: () => {
            const start = now()
            return Effect.map(EffectActor.ask(echo, (reply: Deferred.Deferred<number>): PingEffect => ({ _tag: "Ping", reply })), () => {
              latencies[i] = now() - start
            })
          },
          step: () => {
            i++
          }
        })
        const total = now() - t0
        yield* EffectActor.stop(echo)
        check("ask/effect")
        return askStats(latencies, total)
      }))
    }
    case "js":
      return (async () => {
        const echo = new JsActor<PingJs>((message) => message.reply(++probe.count))
        probe.arm(n)
        const t0 = now()
        for (let i = 0; i < n; i++) {
          const start = now()
          await echo.ask<number>((reply) => ({ _tag: "Ping", reply }))
          latencies[i] = now() - start
        }
        const total = now() - t0
        echo.stop()
        check("ask/js")
        return askStats(latencies, total)
      })()
  }
}

// ----------------------------------------------------------------- fan-in

/**
 * Fan-in: `producers` actors each send `perProducer` tells to one sink actor.
 * The main fiber drives them with `Produce` messages of `batch` tells each,
 * round-robin, so every producer is active at once and the sink has many
 * concurrent senders. Sink messages per second, until the sink has handled all.
 */
export const fanIn = (impl: Impl, producers: number, perProducer: number, batch: number): Promise<number> => {
  const probe = new Probe()
  const hit = Effect.sync(probe.hit)
  const rounds = Math.ceil(perProducer / batch)
  const total = producers * rounds * batch
  switch (impl) {
    case "ours":
      return withSystem((system) =>
        Effect.gen(function*() {
          const Sink = Actor.make("Sink", { protocol: [Tick], receive: { Tick: () => hit } })
          const sink = yield* system.spawn(Sink, "sink")
          const Producer = Actor.make("Producer", {
            protocol: [Produce],
            receive: {
              Produce: (message: Produce) => {
                let i = 0
                return times(message.count, () => sink.tell(make.Tick({ n: i++ })))
              }
            }
          })
          const pids: Array<Pid.Pid<Produce>> = []
          for (let p = 0; p < producers; p++) pids.push(yield* system.spawn(Producer, `producer-${p}`))
          const done = probe.arm(total)
          const t0 = now()
          yield* times(rounds, () => Effect.forEach(pids, (pid) => pid.tell(make.Produce({ count: batch })), { discard: true }))
          yield* Effect.promise(() => within(done, "fanin/ours"))
          return total / ((now() - t0) / 1000)
        })
      )
    case "effect":
      return run(Effect.gen(function*() {
        const sink = yield* EffectActor.spawn<TickPlain>(() => hit)
        const actors: Array<EffectActor.EffectActor<ProducePlain>> = []
        for (let p = 0; p < producers; p++) {
          actors.push(yield* EffectActor.spawn<ProducePlain>((message) => {
            let i = 0
            return times(message.count, () => EffectActor.tell(sink, { _tag: "Tick" as const, n: i++ }))
          }))
        }
        const done = probe.arm(total)
        const t0 = now()
        yield* times(
          rounds,
          () => Effect.forEach(actors, (actor) => EffectActor.tell(actor, { _tag: "Produce" as const, count: batch }), { discard: true })
        )
        yield* Effect.promise(() => within(done, "fanin/effect"))
        const rate = total / ((now() - t0) / 1000)
        yield* EffectActor.stop(sink)
        yield* Effect.forEach(actors, EffectActor.stop, { discard: true })
        return rate
      }))
    case "js":
      return (async () => {
        const sink = new JsActor<TickPlain>(probe.hit)
        const actors: Array<JsActor<ProducePlain>> = []
        for (let p = 0; p < producers; p++) {
          actors.push(
            new JsActor<ProducePlain>((message) => {
              for (let i = 0; i < message.count; i++) sink.tell({ _tag: "Tick" as const, n: i })
            })
          )
        }
        const done = probe.arm(total)
        const t0 = now()
        for (let r = 0; r < rounds; r++) for (const actor of actors) actor.tell({ _tag: "Produce" as const, count: batch })
        await within(done, "fanin/js")
        const rate = total / ((now() - t0) / 1000)
        for (const actor of [sink, ...actors]) actor.stop()
        return rate
      })()
  }
}

// ------------------------------------------------------------------ spawn

/** What spawning idle actors measured. */
export interface SpawnStats {
  /** Spawns per second (the spawn calls, one after the other). */
  readonly perSecond: number
  /** Heap growth after GC, divided by the number of live idle actors. */
  readonly bytesPerActor: number
  /** Heap growth after GC, in bytes. */
  readonly heapBytes: number
  /** How long stopping all of them took (NaN: gave up after the budget). */
  readonly stopMillis: number
}

/**
 * Spawns `n` idle actors, then measures the heap they hold after GC. Then
 * checks they are live actors (ours: the system counts `n`; all: each one is
 * told one message and handles it) before stopping them.
 */
export const spawn = async (
  impl: Impl,
  n: number,
  options?: {
    /** Give up waiting for the system to close after this long (ours only). */
    readonly stopBudgetMillis?: number
    /** Called with the figures before the actors are stopped (ours only). */
    readonly onMeasured?: (measured: Omit<SpawnStats, "stopMillis">) => void
  }
): Promise<SpawnStats> => {
  const stopBudgetMillis = options?.stopBudgetMillis ?? Infinity
  const probe = new Probe()
  const hit = Effect.sync(probe.hit)
  let stopStart = 0
  let result: Omit<SpawnStats, "stopMillis">
  switch (impl) {
    case "ours": {
      const Idle = Actor.make("Idle", { protocol: [Tick], receive: { Tick: () => hit } })
      let deliver: (measured: Omit<SpawnStats, "stopMillis">) => void = () => {}
      const measured = new Promise<Omit<SpawnStats, "stopMillis">>((resolve) => {
        deliver = resolve
      })
      // Closing the system stops every actor: timed separately, and given up on after the budget.
      const stopped = withSystem((system) =>
        Effect.gen(function*() {
          const pids = new Array<Pid.Pid<Tick>>(n)
          const before = yield* Effect.promise(heapAfterGc)
          let i = 0
          const t0 = now()
          yield* Effect.whileLoop({
            while: () => i < n,
            // The name is built here so its memory counts against us: every actor needs one.
            body: () => system.spawn(Idle, `idle-${i}`),
            step: (pid) => {
              pids[i++] = pid
            }
          })
          const elapsed = now() - t0
          const after = yield* Effect.promise(heapAfterGc)
          const live = yield* system.count
          if (live !== n) throw new Error(`spawn/ours: the system counts ${live} actors, expected ${n}`)
          const done = probe.arm(n)
          yield* Effect.forEach(pids, (pid) => pid.tell(tick), { discard: true })
          yield* Effect.promise(() => within(done, "spawn/ours liveness"))
          stopStart = now()
          deliver({ perSecond: n / (elapsed / 1000), heapBytes: after - before, bytesPerActor: (after - before) / n })
        })
      )
      result = await Promise.race([measured, stopped.then(() => measured)])
      options?.onMeasured?.(result)
      const finished = Number.isFinite(stopBudgetMillis)
        ? await Promise.race([
          stopped.then(() => true),
          new Promise<boolean>((resolve) => setTimeout(() => resolve(false), stopBudgetMillis).unref())
        ])
        : await stopped.then(() => true)
      return { ...result, stopMillis: finished ? now() - stopStart : NaN }
    }
    case "effect": {
      const handle = () => hit
      const actors = new Array<EffectActor.EffectActor<Tick>>(n)
      result = await run(Effect.gen(function*() {
        const before = yield* Effect.promise(heapAfterGc)
        let i = 0
        const t0 = now()
        yield* Effect.whileLoop({
          while: () => i < n,
          body: () => EffectActor.spawn<Tick>(handle),
          step: (actor) => {
            actors[i++] = actor
          }
        })
        const elapsed = now() - t0
        const after = yield* Effect.promise(heapAfterGc)
        const done = probe.arm(n)
        yield* Effect.forEach(actors, (actor) => EffectActor.tell(actor, tick), { discard: true })
        yield* Effect.promise(() => within(done, "spawn/effect liveness"))
        stopStart = now()
        yield* Effect.forEach(actors, EffectActor.stop, { discard: true })
        return { perSecond: n / (elapsed / 1000), heapBytes: after - before, bytesPerActor: (after - before) / n }
      }))
      break
    }
    case "js": {
      const actors = new Array<JsActor<Tick>>(n)
      const before = await heapAfterGc()
      const t0 = now()
      for (let i = 0; i < n; i++) actors[i] = new JsActor<Tick>(probe.hit)
      const elapsed = now() - t0
      const after = await heapAfterGc()
      const done = probe.arm(n)
      for (const actor of actors) actor.tell(tick)
      await within(done, "spawn/js liveness")
      stopStart = now()
      for (const actor of actors) actor.stop()
      await new Promise<void>((resolve) => setImmediate(resolve))
      result = { perSecond: n / (elapsed / 1000), heapBytes: after - before, bytesPerActor: (after - before) / n }
      break
    }
  }
  return { ...result, stopMillis: now() - stopStart }
}

// ---------------------------------------------------------- stop-poststop

/**
 * Spawns `n` idle actors that each have a trivial `postStop` (it counts),
 * then stops them all: ours by closing the system, the baselines by stopping
 * each actor. Actors stopped per second, from the stop until every
 * `postStop` has run; fails if any ran other than exactly once.
 */
export const stopPostStop = async (impl: Impl, n: number): Promise<number> => {
  const ran = new Uint8Array(n)
  let count = 0
  const stopped = (i: number): void => {
    ran[i]!++
    count++
  }
  const check = (): void => {
    const wrong = ran.findIndex((times) => times !== 1)
    if (count !== n || wrong >= 0) {
      throw new Error(`stop-poststop/${impl}: ${count} postStops for ${n} actors (actor ${wrong} ran ${ran[wrong]} times)`)
    }
  }
  let t0 = 0
  switch (impl) {
    case "ours": {
      class Index extends Schema.TaggedClass<Index>()("Index", {}) {}
      const Counted = Actor.make("Counted", {
        protocol: [Index],
        initialState: () => -1,
        receive: { Index: () => Effect.void },
        postStop: (ctx) => Effect.sync(() => stopped(Number(ctx.self.name)))
      })
      await run(Effect.gen(function*() {
        yield* Effect.scoped(Effect.gen(function*() {
          const system = yield* ActorSystem.make({ name: "bench" })
          let i = 0
          yield* Effect.whileLoop({ while: () => i < n, body: () => system.spawn(Counted, String(i)), step: () => i++ })
          t0 = now()
        }))
      }).pipe(Effect.orDie))
      break
    }
    case "effect": {
      const actors = new Array<EffectActor.EffectActor<Tick>>(n)
      await run(Effect.gen(function*() {
        let i = 0
        yield* Effect.whileLoop({
          while: () => i < n,
          body: () => {
            const index = i
            return EffectActor.spawn<Tick>(() => Effect.void, Effect.sync(() => stopped(index)))
          },
          step: (actor) => {
            actors[i++] = actor
          }
        })
        t0 = now()
        yield* Effect.forEach(actors, EffectActor.stop, { discard: true })
      }))
      break
    }
    case "js": {
      const actors = new Array<JsActor<Tick>>(n)
      for (let i = 0; i < n; i++) actors[i] = new JsActor<Tick>(() => {}, () => stopped(i))
      await new Promise<void>((resolve) => setImmediate(resolve))
      t0 = now()
      for (const actor of actors) actor.stop()
      while (count < n) await new Promise<void>((resolve) => setImmediate(resolve))
      break
    }
  }
  const elapsed = now() - t0
  check()
  return n / (elapsed / 1000)
}

