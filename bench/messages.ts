/**
 * What building a message per send costs, by way of building it (ns per
 * message, one process, same run). Not part of `npm run bench`:
 * `npx tsx bench/messages.ts [--n 1000000]`. The figures are recorded in
 * bench/RESULTS.md and docs/messages.md.
 */
import { Data, Schema } from "effect"
import { loadavg } from "node:os"
import { Message } from "../src/index.js"

class Increment extends Schema.TaggedClass<Increment>()("Increment", { by: Schema.Number }) {}
class GetCount extends Schema.TaggedRequest<GetCount>()("GetCount", {
  payload: {},
  success: Schema.Number,
  failure: Schema.Never
}) {}
class DataIncrement extends Data.TaggedClass("Increment")<{ readonly by: number }> {}

const make = Message.constructors([Increment, GetCount])
const flag = process.argv.indexOf("--n")
const n = flag < 0 ? 1_000_000 : Number(process.argv[flag + 1])
const sink: Array<unknown> = new Array(1024)

const measure = (label: string, build: (i: number) => unknown): readonly [string, number] => {
  for (let i = 0; i < n / 10; i++) sink[i & 1023] = build(i)
  let best = Infinity
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) sink[i & 1023] = build(i)
    best = Math.min(best, ((performance.now() - t0) * 1e6) / n)
  }
  return [label, best]
}

const proto = Increment.prototype
const rows = [
  measure("new Increment({ by }) (Schema.TaggedClass, validated)", (i) => new Increment({ by: i })),
  measure("new Increment({ by }, true) (validation off)", (i) => new Increment({ by: i }, true)),
  measure("Increment.make({ by })", (i) => Increment.make({ by: i })),
  measure("new GetCount() (Schema.TaggedRequest)", () => new GetCount()),
  measure("new DataIncrement({ by }) (Data.TaggedClass)", (i) => new DataIncrement({ by: i })),
  measure("{ _tag, by } (plain object)", (i) => ({ _tag: "Increment", by: i })),
  measure("Object.create(Increment.prototype) + writes", (i) => {
    const self = Object.create(proto) as { _tag: string; by: number }
    self.by = i
    self._tag = "Increment"
    return self
  }),
  measure("make.Increment({ by }) (Message.constructors)", (i) => make.Increment({ by: i })),
  measure("make.GetCount() (Message.constructors)", () => make.GetCount())
]
for (const [label, ns] of rows) console.log(`${ns.toFixed(1).padStart(8)} ns  ${label}`)
console.log(`n=${n}, node ${process.version}, load average ${loadavg().map((x: number) => x.toFixed(2)).join(" ")}`)
