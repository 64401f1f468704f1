import { Context, Effect, Layer } from "effect"
import { ActorSystem, type Pid, Remoting } from "./src/index.js"
import { Add, Count, Sink } from "./bench/remote-protocol.js"
const node = (name: string) => Effect.gen(function*() {
  const ctx = yield* Layer.build(Remoting.layer({ kinds: [Sink], maxPending: Number(process.env.W ?? 32768) }).pipe(Layer.provideMerge(ActorSystem.layer({ name, passivateAfter: "never" }))))
  return Context.get(ctx, Remoting.Remoting)
})
Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const a = yield* node("a"); const b = yield* node("b")
  for (let r = 0; r < 3; r++) {
    const sink: Pid.Pid<Add | Count> = yield* a.spawn({ host: "127.0.0.1", port: b.port }, Sink, "s" + r)
    const n = 200_000
    const t = performance.now()
    for (let i = 0; i < n; i++) yield* sink.tell(new Add({ n: 1 }))
    const t1 = performance.now()
    let c = 0
    while (c < n) c = yield* sink.ask(new Count())
    console.log("sent in", (t1 - t).toFixed(0), "ms; total", (performance.now() - t).toFixed(0), "ms", (n / ((performance.now() - t) / 1000)).toFixed(0), "msg/s")
  }
}))).then(() => process.exit(0))
