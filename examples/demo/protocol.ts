/**
 * The demo's protocol and its worker kind, shared by the coordinator and the
 * node processes (a kind must be registered on the node that spawns it).
 */
import { Effect, Schema } from "effect"
import { Actor } from "../../src/index.js"

/** Count the words of some lines; the reply is word → count. */
export class CountWords extends Schema.TaggedRequest<CountWords>()("CountWords", {
  payload: { chunk: Schema.Number, lines: Schema.Array(Schema.String) },
  success: Schema.Record({ key: Schema.String, value: Schema.Number }),
  failure: Schema.Never
}) {}

/** How much this worker did since it (re)started. */
export class Stats extends Schema.TaggedRequest<Stats>()("Stats", {
  payload: {},
  success: Schema.Struct({ node: Schema.String, chunks: Schema.Number, words: Schema.Number }),
  failure: Schema.Never
}) {}

export const WordCounter = Actor.make("WordCounter", {
  protocol: [CountWords, Stats],
  initialState: () => ({ chunks: 0, words: 0 }),
  receive: {
    CountWords: (msg, ctx) =>
      Effect.sync(() => {
        const counts: Record<string, number> = {}
        for (const line of msg.lines) {
          for (const word of line.toLowerCase().split(/[^a-z]+/)) {
            if (word === "") continue
            counts[word] = (counts[word] ?? 0) + 1
            ctx.state.words++
          }
        }
        ctx.state.chunks++
        return counts
      }),
    Stats: (_, ctx) =>
      Effect.succeed({ node: String(ctx.address.system), chunks: ctx.state.chunks, words: ctx.state.words })
  }
})
