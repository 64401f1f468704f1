/**
 * `npm run bench`: the local benchmark (`run.ts`), the remote one
 * (`remote.ts`), then the cluster store's (`claims.ts`), the grains'
 * (`grains.ts`, `grain-ask.ts`) and the cluster's (`cluster.ts`), each in its own
 * process, with the same flags. `--only` picks scenarios of any: names
 * starting with `remote` select the remote benchmark (`--only remote` runs it
 * alone), `claims` the cluster store's, `grain-activation` and `grain-ask`
 * the grains', `redeploy`, `send-by-name` and
 * `lookup-cached` the cluster's (`cluster.ts`, passed on as its `--only`).
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const args = process.argv.slice(2)
const onlyAt = args.indexOf("--only")
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? "").split(",").filter((s) => s !== "") : []
const clusterRows = ["redeploy", "send-by-name", "lookup-cached"]
const local = only.filter((s) =>
  !s.startsWith("remote") && s !== "claims" && s !== "grain-activation" && s !== "grain-ask" &&
  !clusterRows.includes(s)
)
const remote = only.length === 0 || only.some((s) => s.startsWith("remote"))
const claims = only.length === 0 || only.includes("claims")
const grains = only.length === 0 || only.includes("grain-activation")
const grainAsk = only.length === 0 || only.includes("grain-ask")
const clusterOnly = only.filter((s) => clusterRows.includes(s))
const cluster = only.length === 0 || clusterOnly.length > 0

const run = (script: string, scriptArgs: ReadonlyArray<string>): number => {
  const result = spawnSync(
    process.execPath,
    ["--expose-gc", "--import", "tsx", fileURLToPath(new URL(script, import.meta.url)), ...scriptArgs],
    { stdio: "inherit" }
  )
  return result.status ?? 1
}

const withoutOnly = onlyAt >= 0 ? [...args.slice(0, onlyAt), ...args.slice(onlyAt + 2)] : args
let status = 0
if (only.length === 0 || local.length > 0) {
  status = run("./run.ts", local.length > 0 ? [...withoutOnly, "--only", local.join(",")] : withoutOnly)
}
const shared = withoutOnly.filter((a) => a === "--json" || a === "--smoke")
if (status === 0 && remote) status = run("./remote.ts", shared)
if (status === 0 && claims) status = run("./claims.ts", shared)
if (status === 0 && grains) status = run("./grains.ts", shared)
if (status === 0 && grainAsk) status = run("./grain-ask.ts", shared)
if (status === 0 && cluster) {
  status = run("./cluster.ts", clusterOnly.length > 0 ? [...shared, "--only", clusterOnly.join(",")] : shared)
}
process.exit(status)
