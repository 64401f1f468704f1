/**
 * The dashboard's page: plain HTML and one JavaScript module, served as they
 * are (no build step, no dependency). The module subscribes to
 * `/api/events`, renders the nodes (with a throughput sparkline each), a
 * searchable actor table, the deadletter tail, schedules and grains, and
 * asks for confirmation (a `<dialog>`) before stopping an actor or draining
 * a node. Every text from the server is set as text, never as HTML.
 *
 * @internal
 */

/** The page. */
export const pageHtml: string = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>effect-actors dashboard</title>
<style>
  :root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f4f5f8; }
  body { margin: 0; }
  header.top { display: flex; gap: 1rem; align-items: baseline; padding: .8rem 1.2rem; background: #1d2330; color: #fff; }
  header.top h1 { font-size: 1.1rem; margin: 0; }
  #live { width: .6rem; height: .6rem; border-radius: 50%; display: inline-block; background: #999; }
  #live.on { background: #3c3; } #live.off { background: #d33; }
  main { padding: 1rem 1.2rem; display: grid; gap: 1rem; }
  h2 { font-size: 1rem; margin: 0 0 .4rem; }
  #nodes { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: .8rem; }
  .node { background: #fff; border-radius: 8px; padding: .7rem .9rem; border-top: 4px solid #3a7; box-shadow: 0 1px 2px #0002; }
  .node.leaving, .node.suspended { border-top-color: #e90; } .node.unreachable { border-top-color: #d33; }
  .node header { display: flex; gap: .5rem; align-items: baseline; } .node .status { margin-left: auto; color: #567; }
  .tag { font-size: .75rem; background: #e6ecf7; padding: 0 .4rem; border-radius: 4px; }
  dl { display: grid; grid-template-columns: auto 1fr; gap: 0 .8rem; margin: .5rem 0; } dt { color: #678; } dd { margin: 0; }
  .spark { color: #36c; display: block; } .names { columns: 2; padding-left: 1.1rem; margin: .4rem 0; font-size: .85rem; }
  .error { color: #b22; font-size: .85rem; }
  table { width: 100%; border-collapse: collapse; background: #fff; font-size: .85rem; }
  th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6ec; } td.num { text-align: right; }
  td.failure { color: #b22; max-width: 18rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  input[type=search] { padding: .3rem .5rem; width: 18rem; }
  button { cursor: pointer; } button.danger { color: #b22; border: 1px solid #b22; background: #fff; border-radius: 4px; }
  .muted { color: #889; } ul.tail { background: #fff; padding: .5rem 1.5rem; margin: 0; font-size: .85rem; }
  .cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 1rem; }
  #toast { position: fixed; bottom: 1rem; right: 1rem; padding: .6rem 1rem; border-radius: 6px; color: #fff; }
  #toast.ok { background: #276; } #toast.bad { background: #b22; } #toast.hidden { display: none; }
</style>
</head>
<body>
<header class="top"><h1>effect-actors</h1><span id="live"></span><span id="self"></span><span id="updated" class="muted"></span></header>
<main>
  <div id="nodes"></div>
  <section>
    <h2>Actors <input id="search" type="search" placeholder="search name, kind or node" aria-label="search actors"> <span id="actor-count" class="muted"></span></h2>
    <table id="actors">
      <thead><tr><th>name</th><th>kind</th><th>node</th><th>mailbox</th><th>msg/s</th><th>processed</th><th>restarts</th><th>last failure</th><th>passivates</th><th>fence</th><th></th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <div class="cols">
    <section><h2>Deadletters</h2><ul id="deadletters" class="tail"></ul></section>
    <section><h2>Schedules</h2><ul id="schedules" class="tail"></ul></section>
    <section><h2>Resident grains</h2><ul id="grains" class="tail"></ul></section>
  </div>
</main>
<dialog id="confirm"><form method="dialog"><p id="confirm-text"></p><button value="cancel">Cancel</button> <button value="yes" class="danger" id="confirm-yes">Confirm</button></form></dialog>
<div id="toast" class="hidden"></div>
<script type="module" src="/app.js"></script>
</body>
</html>
`

/** The page's script (`/app.js`). */
export const appJs: string = String.raw`// effect-actors dashboard: renders /api/events (server-sent snapshots) with no build step.
const $ = (selector) => document.querySelector(selector)
const h = (tag, attrs, ...children) => {
  const el = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value)
    else el.setAttribute(key, value === true ? "" : String(value))
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}
const svg = (tag, attrs) => {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag)
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value))
  return el
}
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString() : (Math.round(n * 10) / 10).toLocaleString())
const ago = (ms) => (ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s")
const time = (at) => new Date(at).toLocaleTimeString()

const history = new Map() // nodeId -> last 60 rates
let latest = null
let query = ""

const sparkline = (values) => {
  const width = 160
  const height = 32
  const max = Math.max(1, ...values)
  const step = width / 59
  const points = values.map((v, i) => (width - (values.length - 1 - i) * step).toFixed(1) + "," + (height - 2 - (v / max) * (height - 4)).toFixed(1))
  const el = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height, class: "spark" })
  el.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "currentColor", "stroke-width": 1.5 }))
  return el
}

const api = async (method, path, body) => {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", "x-effect-actors": "1" },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const json = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(json.message || response.statusText)
  return json
}

const toast = (text, bad) => {
  const el = $("#toast")
  el.textContent = text
  el.className = bad ? "bad" : "ok"
  clearTimeout(toast.timer)
  // Browser code (this page's script), not the server's: there is no Effect Clock here.
  toast.timer = setTimeout(() => (el.className = "hidden"), 4000)
}

/** Asks before acting: a <dialog> with the action spelled out. */
const confirmThen = (text, action) => {
  const dialog = $("#confirm")
  $("#confirm-text").textContent = text
  dialog.returnValue = ""
  dialog.onclose = async () => {
    if (dialog.returnValue !== "yes") return
    try {
      await action()
      toast(text.replace(/\?$/, "") + ": done")
    } catch (error) {
      toast(String(error.message || error), true)
    }
  }
  dialog.showModal()
}

const stopActor = (name) =>
  confirmThen("Stop actor " + name + "?", () => api("POST", "/api/actors/" + encodeURIComponent(name) + "/stop"))
const drainNode = (nodeId) =>
  confirmThen("Drain node " + nodeId + "? Its actors move to the other nodes.", () =>
    api("POST", "/api/nodes/" + encodeURIComponent(nodeId) + "/drain"))

const renderNodes = (snapshot) => {
  const cards = snapshot.nodes.map((node) => {
    const report = node.report
    const rates = history.get(node.nodeId) || []
    const actors = report ? report.actors : node.directory
    return h("section", { class: "node " + node.status + (node.reachable ? "" : " unreachable"), "data-node": node.nodeId },
      h("header", {},
        h("strong", {}, node.nodeId),
        node.self ? h("span", { class: "tag" }, "this node") : null,
        h("span", { class: "status" }, node.reachable ? node.status : node.status + " (not answering)")),
      h("dl", {},
        h("dt", {}, "address"), h("dd", {}, node.address || "-"),
        h("dt", {}, "epoch"), h("dd", {}, node.epoch === null ? "-" : node.epoch),
        h("dt", {}, "lease age"), h("dd", {}, node.leaseAgeMs === null ? "-" : ago(node.leaseAgeMs)),
        h("dt", {}, "roles"), h("dd", {}, node.roles.join(", ") || "-"),
        h("dt", {}, "actors"), h("dd", { class: "actor-count" }, report ? report.actorCount : actors.length),
        h("dt", {}, "msg/s"), h("dd", {}, report ? fmt(report.processedPerSecond) : "-"),
        h("dt", {}, "deadletters/s"), h("dd", {}, report ? fmt(report.deadletters.perSecond) : "-")),
      sparkline(rates),
      h("ul", { class: "names" }, actors.slice(0, 12).map((a) => h("li", {}, a.name)),
        actors.length > 12 ? h("li", {}, "+" + (actors.length - 12) + " more") : null),
      snapshot.cluster && node.status === "up"
        ? h("button", { class: "danger", "data-action": "drain", onclick: () => drainNode(node.nodeId) }, "Drain")
        : null,
      node.error ? h("p", { class: "error" }, node.error) : null)
  })
  $("#nodes").replaceChildren(...cards)
}

const allActors = (snapshot) =>
  snapshot.nodes.flatMap((node) =>
    node.report
      ? node.report.actors.map((a) => ({ ...a, node: node.nodeId }))
      : node.directory.map((d) => ({ name: d.name, kind: d.kind, fence: d.fence, node: node.nodeId, unknown: true })))

const renderActors = (snapshot) => {
  const q = query.trim().toLowerCase()
  const rows = allActors(snapshot)
    .filter((a) => q === "" || (a.name + " " + a.kind + " " + a.node).toLowerCase().includes(q))
    .sort((a, b) => a.name.localeCompare(b.name))
  const now = snapshot.at
  $("#actor-count").textContent = rows.length + " shown"
  $("#actors tbody").replaceChildren(...rows.slice(0, 500).map((a) =>
    h("tr", { "data-actor": a.name, "data-node": a.node },
      h("td", {}, a.name), h("td", {}, a.kind), h("td", {}, a.node),
      h("td", { class: "num" }, a.unknown ? "?" : a.mailbox),
      h("td", { class: "num" }, a.unknown ? "?" : fmt(a.perSecond)),
      h("td", { class: "num" }, a.unknown ? "?" : a.processed),
      h("td", { class: "num" }, a.unknown ? "?" : a.restarts),
      h("td", { class: "failure", title: a.lastFailure ? a.lastFailure.error : "" },
        a.lastFailure ? time(a.lastFailure.at) + " " + a.lastFailure.error.slice(0, 80) : ""),
      h("td", {}, a.passivatesAt ? "in " + ago(Math.max(0, a.passivatesAt - now)) : ""),
      h("td", { class: "num" }, a.fence === null || a.fence === undefined ? "" : a.fence),
      h("td", {}, a.name.includes("/") ? null :
        h("button", { class: "danger", "data-action": "stop", onclick: () => stopActor(a.name) }, "Stop")))))
}

const renderTail = (snapshot) => {
  const letters = snapshot.nodes
    .flatMap((node) => (node.report ? node.report.deadletters.latest.map((d) => ({ ...d, node: node.nodeId })) : []))
    .sort((a, b) => b.at - a.at)
    .slice(0, 20)
  $("#deadletters").replaceChildren(...(letters.length === 0
    ? [h("li", { class: "muted" }, "none")]
    : letters.map((d) => h("li", {}, h("time", {}, time(d.at)), " ", h("code", {}, d.tag), " to ", d.recipient, " (", d.reason, ") on ", d.node))))
  const schedules = snapshot.nodes.flatMap((n) => (n.report ? n.report.schedules.map((s) => ({ ...s, node: n.nodeId })) : []))
  $("#schedules").replaceChildren(...(schedules.length === 0
    ? [h("li", { class: "muted" }, "none")]
    : schedules.map((s) => h("li", {}, h("code", {}, s.reference), " ", s.messageTag, " to ", s.target, ", ", s.trigger,
      s.paused ? " (paused)" : s.nextFireAt ? ", next " + time(s.nextFireAt) : "", ", fired ", s.fired, " on ", s.node))))
  const grains = snapshot.nodes.flatMap((n) => (n.report ? n.report.grains.map((g) => ({ ...g, node: n.nodeId })) : []))
  $("#grains").replaceChildren(...(grains.length === 0
    ? [h("li", { class: "muted" }, "none")]
    : grains.map((g) => h("li", {}, g.kind, "/", g.key, " on ", g.node))))
}

const render = (snapshot) => {
  latest = snapshot
  const live = new Set()
  for (const node of snapshot.nodes) {
    live.add(node.nodeId)
    const rates = history.get(node.nodeId) || []
    rates.push(node.report ? node.report.processedPerSecond : 0)
    if (rates.length > 60) rates.shift()
    history.set(node.nodeId, rates)
  }
  for (const id of [...history.keys()]) if (!live.has(id)) history.delete(id)
  $("#self").textContent = snapshot.self + (snapshot.cluster ? " · cluster of " + snapshot.nodes.length : " · standalone")
  $("#updated").textContent = "updated " + time(snapshot.at)
  renderNodes(snapshot)
  renderActors(snapshot)
  renderTail(snapshot)
}

$("#search").addEventListener("input", (event) => {
  query = event.target.value
  if (latest) renderActors(latest)
})

const connect = () => {
  const source = new EventSource("/api/events")
  source.onopen = () => ($("#live").className = "on")
  source.onmessage = (event) => render(JSON.parse(event.data))
  source.onerror = () => ($("#live").className = "off")
}
api("GET", "/api/snapshot").then(render, (error) => toast(String(error.message || error), true))
connect()
`
