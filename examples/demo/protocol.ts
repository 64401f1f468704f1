/**
 * What the demo's nodes run: bank accounts that keep their balance in a
 * ledger outside the cluster (a SQLite file), written under the actor's
 * fence, and a singleton ticked by a cluster-unique schedule. An account that moves to another node reads its balance back in
 * `preStart`; a deposit carries a sequence number, so one sent again after
 * its node died is counted once.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Option, Schema } from "effect"
import { Actor } from "../../src/index.js"

/** Adds `amount`; `seq` numbers the deposits of one account (a repeat is ignored). Answers the balance. */
export class Deposit extends Schema.TaggedRequest<Deposit>()("Deposit", {
  payload: { seq: Schema.Number, amount: Schema.Number },
  success: Schema.Number,
  failure: Schema.Never
}) {}

/** The balance, and the node that answers. */
export class GetBalance extends Schema.TaggedRequest<GetBalance>()("GetBalance", {
  payload: {},
  success: Schema.Struct({ balance: Schema.Number, node: Schema.String }),
  failure: Schema.Never
}) {}

/** A beat of the cluster-unique schedule. */
export class Tick extends Schema.TaggedClass<Tick>()("Tick", {}) {}

export const accountNames = Array.from({ length: 12 }, (_, i) => `account-${i + 1}`)

/** The ledger table, one row per account, on every node's connection to the ledger file. */
export const ledgerSchema = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.all([
    sql`PRAGMA journal_mode = WAL`,
    sql`CREATE TABLE IF NOT EXISTS ledger (name TEXT PRIMARY KEY, balance INTEGER, seq INTEGER, fence INTEGER)`
  ]))

export const Account = Actor.make("Account", {
  protocol: [Deposit, GetBalance],
  initialState: () => ({ balance: 0, seq: 0 }),
  passivateAfter: "never",
  // Resume from the ledger: this actor may be the successor of one on a node that died.
  preStart: (ctx) =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ balance: number; seq: number }>`SELECT balance, seq FROM ledger WHERE name = ${ctx.self.name}`
      if (rows[0] !== undefined) yield* ctx.set({ balance: rows[0].balance, seq: rows[0].seq })
    }).pipe(Effect.orDie),
  receive: {
    Deposit: (msg, ctx) =>
      Effect.gen(function*() {
        if (msg.seq <= ctx.state.seq) return ctx.state.balance // sent again after a failover: already counted
        const next = { balance: ctx.state.balance + msg.amount, seq: msg.seq }
        const sql = yield* SqlClient.SqlClient
        const fence = Option.getOrElse(ctx.fence, () => 0)
        // Fenced write: an older owner of this name (a zombie) can never overwrite a newer one's row.
        const written = yield* sql`
          INSERT INTO ledger (name, balance, seq, fence) VALUES (${ctx.self.name}, ${next.balance}, ${next.seq}, ${fence})
          ON CONFLICT (name) DO UPDATE SET balance = excluded.balance, seq = excluded.seq, fence = excluded.fence
          WHERE ledger.fence <= excluded.fence
          RETURNING name`
        if (written.length === 0) return yield* Effect.dieMessage(`${ctx.self.name}: fenced out (fence ${fence})`)
        yield* ctx.set(next)
        return next.balance
      }).pipe(Effect.orDie),
    GetBalance: (_, ctx) => Effect.succeed({ balance: ctx.state.balance, node: process.env["NODE_ID"] ?? "?" })
  }
})

/** One for the whole cluster, on the oldest node: says where it runs and under which fence. */
export const Ticker = Actor.make("Ticker", {
  protocol: [Tick],
  initialState: () => 0,
  passivateAfter: "never",
  receive: {
    Tick: (_, ctx) =>
      Effect.flatMap(ctx.update((n) => n + 1), () =>
        Effect.sync(() =>
          console.log(
            `ticker (singleton) on ${process.env["NODE_ID"]}, fence ${Option.getOrElse(ctx.fence, () => 0)}: beat ${ctx.state + 1}`
          )
        ))
  }
})
