#!/usr/bin/env node
// The effect-actors CLI: talks to a node's dashboard endpoint (Dashboard.layer).
// Plain JavaScript on Node's own fetch: no build step, no dependency, runs from the installed package.
import { parseArgs } from "node:util"

const usage = `usage: effect-actors <command> [arguments] [--url URL] [--token TOKEN] [--json]

commands:
  status               the cluster's nodes: status, epoch, lease age, address, actors, msg/s
  actors [FILTER]      every actor (name, kind, node, mailbox, msg/s, restarts, last failure)
  lookup NAME          where the actor NAME runs
  tell NAME JSON       tells NAME a message, e.g. '{"_tag":"Increment","by":1}'
  ask NAME JSON        asks NAME a request and prints the reply
  stop NAME            stops the actor NAME
  drain NODE           the node NODE leaves the cluster gracefully; survivors adopt its actors

options:
  --url URL            a node's dashboard (default $EFFECT_ACTORS_URL or http://127.0.0.1:9300)
  --token TOKEN        the node's token (default $EFFECT_ACTORS_TOKEN)
  --json               print the answer as JSON
  --timeout SECONDS    give up after this long (default 30)
  -h, --help           this text

Messages are JSON in the message's Schema encoding; the node that runs the actor decodes them
with the actor's own protocol and says what does not match.`

/** Exit codes: 0 done, 1 the node refused or failed, 2 wrong usage, 3 the node could not be reached. */
class Failure extends Error {
  constructor(message, code) {
    super(message)
    this.code = code
  }
}

const parse = (argv) => {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        token: { type: "string" },
        json: { type: "boolean", default: false },
        timeout: { type: "string", default: "30" },
        help: { type: "boolean", short: "h", default: false }
      }
    })
  } catch (error) {
    throw new Failure(`${error.message}\n\n${usage}`, 2)
  }
}

const baseUrl = (url) => {
  const raw = url ?? process.env.EFFECT_ACTORS_URL ?? "http://127.0.0.1:9300"
  const withScheme = /^https?:\/\//.test(raw) ? raw : `http://${raw}`
  try {
    return new URL(withScheme.endsWith("/") ? withScheme : `${withScheme}/`)
  } catch {
    throw new Failure(`not a URL: ${raw}`, 2)
  }
}

const request = async (options, method, path, body) => {
  const url = new URL(path, options.base)
  const headers = { accept: "application/json", "x-effect-actors": "1" }
  if (options.token) headers.authorization = `Bearer ${options.token}`
  if (body !== undefined) headers["content-type"] = "application/json"
  let response
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs)
    })
  } catch (error) {
    const cause = error.cause?.code ?? error.cause?.message ?? error.message
    throw new Failure(`cannot reach ${options.base.origin}: ${cause}`, 3)
  }
  const text = await response.text()
  let json
  try {
    json = text === "" ? undefined : JSON.parse(text)
  } catch {
    throw new Failure(`${options.base.origin} answered ${response.status} with something that is not JSON`, 3)
  }
  if (!response.ok) {
    const message = json?.message ?? response.statusText
    throw new Failure(response.status === 401 ? `${message} (give it with --token or $EFFECT_ACTORS_TOKEN)` : message, 1)
  }
  return json
}

const jsonArgument = (text, what) => {
  if (text === undefined) throw new Failure(`${what}: the message is missing\n\n${usage}`, 2)
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new Failure(`${what}: the message is not JSON (${error.message}): ${text}`, 2)
  }
}

const table = (header, rows) => {
  const all = [header, ...rows].map((row) => row.map((cell) => String(cell ?? "")))
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)))
  return all.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n")
}

const rate = (n) => (n >= 100 ? String(Math.round(n)) : String(Math.round(n * 10) / 10))
const ms = (n) => (n === null || n === undefined ? "-" : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`)

const name = (positionals, what) => {
  const value = positionals[1]
  if (value === undefined || value === "") throw new Failure(`${what}: which one?\n\n${usage}`, 2)
  return encodeURIComponent(value)
}

const commands = {
  async status(options) {
    const snapshot = await request(options, "GET", "api/snapshot")
    if (options.json) return snapshot
    return table(
      ["NODE", "STATUS", "EPOCH", "LEASE AGE", "ADDRESS", "ROLES", "ACTORS", "MSG/S", "DEADLETTERS/S"],
      snapshot.nodes.map((node) => [
        node.nodeId + (node.self ? " *" : ""),
        node.reachable ? node.status : `${node.status} (not answering)`,
        node.epoch ?? "-",
        ms(node.leaseAgeMs),
        node.address || "-",
        node.roles.join(",") || "-",
        node.report ? node.report.actorCount : node.directory.length,
        node.report ? rate(node.report.processedPerSecond) : "-",
        node.report ? rate(node.report.deadletters.perSecond) : "-"
      ])
    )
  },
  async actors(options, positionals) {
    const snapshot = await request(options, "GET", "api/snapshot")
    const filter = (positionals[1] ?? "").toLowerCase()
    const actors = snapshot.nodes.flatMap((node) =>
      node.report
        ? node.report.actors.map((actor) => ({ ...actor, node: node.nodeId }))
        : node.directory.map((entry) => ({ ...entry, node: node.nodeId }))
    ).filter((actor) => `${actor.name} ${actor.kind} ${actor.node}`.toLowerCase().includes(filter))
      .sort((a, b) => a.name.localeCompare(b.name))
    if (options.json) return actors
    return table(
      ["NAME", "KIND", "NODE", "MAILBOX", "MSG/S", "PROCESSED", "RESTARTS", "LAST FAILURE"],
      actors.map((a) => [
        a.name,
        a.kind,
        a.node,
        a.mailbox ?? "?",
        a.perSecond === undefined ? "?" : rate(a.perSecond),
        a.processed ?? "?",
        a.restarts ?? "?",
        a.lastFailure ? a.lastFailure.error.split("\n")[0].slice(0, 60) : ""
      ])
    )
  },
  async lookup(options, positionals) {
    const found = await request(options, "GET", `api/actors/${name(positionals, "lookup")}`)
    return options.json ? found : `${found.address}${found.local ? " (on this node)" : ""}`
  },
  async tell(options, positionals) {
    const target = name(positionals, "tell")
    const answer = await request(options, "POST", `api/actors/${target}/tell`, jsonArgument(positionals[2], "tell"))
    return options.json ? answer : "delivered"
  },
  async ask(options, positionals) {
    const target = name(positionals, "ask")
    const answer = await request(options, "POST", `api/actors/${target}/ask`, jsonArgument(positionals[2], "ask"))
    return options.json ? answer : JSON.stringify(answer.reply, null, 2)
  },
  async stop(options, positionals) {
    const answer = await request(options, "POST", `api/actors/${name(positionals, "stop")}/stop`)
    return options.json ? answer : `stopped ${answer.stopped}`
  },
  async drain(options, positionals) {
    const answer = await request(options, "POST", `api/nodes/${name(positionals, "drain")}/drain`)
    return options.json ? answer : `draining ${answer.node}: its actors move to the other nodes`
  }
}

const main = async (argv) => {
  const { values, positionals } = parse(argv)
  if (values.help || positionals.length === 0) return usage
  const command = commands[positionals[0]]
  if (command === undefined) throw new Failure(`unknown command ${positionals[0]}\n\n${usage}`, 2)
  const seconds = Number(values.timeout)
  if (!(seconds > 0)) throw new Failure(`--timeout must be a positive number of seconds`, 2)
  const options = {
    base: baseUrl(values.url),
    token: values.token ?? process.env.EFFECT_ACTORS_TOKEN,
    json: values.json,
    timeoutMs: seconds * 1000
  }
  const out = await command(options, positionals)
  return typeof out === "string" ? out : JSON.stringify(out, null, 2)
}

main(process.argv.slice(2)).then(
  (out) => {
    process.stdout.write(`${out}\n`)
  },
  (error) => {
    process.stderr.write(`effect-actors: ${error instanceof Failure ? error.message : error.stack ?? error}\n`)
    process.exitCode = error instanceof Failure ? error.code : 1
  }
)
