/**
 * The package as an application gets it: `npm pack` (which builds `dist/`),
 * a fresh application in a temp directory with its own `effect` and
 * `@effect/*` (the versions we test with, from the local npm cache or the
 * registry), the tarball installed into it, then the README tour, copied
 * from README.md, type-checked against the installed `.d.ts` files and run
 * as an ES module. Also: every subpath export resolves (types and run time)
 * to the same module objects as the root entry, and the tree holds exactly
 * one copy of `effect`.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll } from "vitest"

const run = promisify(execFile)
const root = fileURLToPath(new URL("../..", import.meta.url))
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  readonly exports: Record<string, unknown>
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly devDependencies: Record<string, string>
}

/** The environment for a nested npm: none of the `npm_*` settings of an enclosing `npm run` (its prefix, its package). */
const npmEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    const keep = !key.toLowerCase().startsWith("npm_") || /^npm_config_(cache|registry|userconfig)$/i.test(key)
    if (keep && key !== "INIT_CWD") env[key] = value
  }
  return env
}

const npm = (args: ReadonlyArray<string>, cwd: string) =>
  run("npm", [...args], { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024 })

/** The first ```ts block after the `<!-- tour` marker in README.md. */
const readmeTour = (readme: string): string => {
  const marker = readme.indexOf("<!-- tour")
  if (marker < 0) throw new Error("README.md has no <!-- tour --> marker")
  const block = /```ts\n([\s\S]*?)\n```/.exec(readme.slice(marker))
  const code = block?.[1]
  if (code === undefined) throw new Error("no ```ts block after the tour marker in README.md")
  return code
}

/** Every directory named `effect` that is a package under some node_modules of `dir`. */
const effectCopies = (dir: string): Array<string> => {
  const found: Array<string> = []
  const walk = (modules: string) => {
    for (const entry of readdirSync(modules, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const path = join(modules, entry.name)
      if (entry.name.startsWith("@")) {
        for (const scoped of readdirSync(path, { withFileTypes: true })) {
          if (scoped.isDirectory()) nested(join(path, scoped.name))
        }
        continue
      }
      if (entry.name === "effect") found.push(path)
      nested(path)
    }
  }
  const nested = (pkg: string) => {
    const inner = join(pkg, "node_modules")
    if (existsSync(inner)) walk(inner)
  }
  walk(join(dir, "node_modules"))
  return found
}

const work = mkdtempSync(join(tmpdir(), "effect-actors-pack-"))
afterAll(() => rmSync(work, { recursive: true, force: true }))

describe("L1 the packed package in a fresh application", () => {
  it("installs beside the application's own effect and runs the README tour", { timeout: 240_000 }, async () => {
    // 1. A fresh application with its own effect and @effect/* (the peers, at the versions we test with),
    //    installed while the package is packed (prepack builds dist/, so the tarball holds the JS and the types).
    const app = join(work, "app")
    const pinned = (name: string) => {
      const version = manifest.devDependencies[name]
      if (version === undefined) throw new Error(`${name} is not pinned in devDependencies`)
      return version
    }
    // Optional peers (what only some modules need) are left out: the root entry must load without them.
    const required = Object.keys(manifest.peerDependencies).filter(
      (name) => manifest.peerDependenciesMeta?.[name]?.optional !== true
    )
    mkdirSync(app)
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({
        name: "tour-app",
        private: true,
        type: "module",
        dependencies: Object.fromEntries(required.map((name) => [name, pinned(name)])),
        devDependencies: { "@types/node": pinned("@types/node") }
      })
    )
    const install = ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"]
    const [pack] = await Promise.all([npm(["pack", "--json", "--pack-destination", work], root), npm(install, app)])
    const [packed] = JSON.parse(pack.stdout) as [{
      readonly filename: string
      readonly files: ReadonlyArray<{ readonly path: string }>
    }]
    const files = new Set(packed.files.map((file) => file.path))
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      if (typeof target === "string") continue
      const { import: js, types } = target as { readonly import: string; readonly types: string }
      expect(files, subpath).toContain(js.slice(2))
      expect(files, subpath).toContain(types.slice(2))
    }
    expect([...files].filter((file) => file.startsWith("test/") || file.startsWith("bench/"))).toEqual([])

    // 2. The tarball, installed into the application as a user would.
    await npm([...install, join(work, packed.filename)], app)

    // 3. The README tour, and one import per subpath export, type-checked against the installed declarations.
    writeFileSync(join(app, "tour.ts"), readmeTour(readFileSync(join(root, "README.md"), "utf8")))
    const subpaths = Object.keys(manifest.exports).filter((subpath) => subpath !== "." && subpath !== "./package.json")
    writeFileSync(
      join(app, "subpaths.ts"),
      [
        `import * as Root from "effect-actors"`,
        ...subpaths.map((subpath, i) => `import * as M${i} from "effect-actors/${subpath.slice(2)}"`),
        `const same: Record<string, boolean> = {}`,
        ...subpaths.map((subpath, i) => `same[${JSON.stringify(subpath.slice(2))}] = M${i} === Root.${subpath.slice(2)}`),
        `console.log(JSON.stringify(same))`
      ].join("\n")
    )
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          exactOptionalPropertyTypes: true,
          skipLibCheck: true,
          types: ["node"],
          outDir: "out"
        },
        files: ["tour.ts", "subpaths.ts"]
      })
    )
    await run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", app], { cwd: app })
      .catch((error: { stdout?: string }) => {
        throw new Error(`the tour does not type-check against the packed package:\n${error.stdout ?? String(error)}`)
      })

    // 4. Run them as ES modules, from the application.
    const tour = await run(process.execPath, ["out/tour.js"], { cwd: app })
    expect(tour.stdout).toMatch(/INFO .*count = 2\n/)
    expect(tour.stdout).toMatch(/INFO .*stopped at 2\n/)
    const same = JSON.parse((await run(process.execPath, ["out/subpaths.js"], { cwd: app })).stdout) as Record<
      string,
      boolean
    >
    expect(Object.keys(same)).toHaveLength(subpaths.length)
    for (const [subpath, ok] of Object.entries(same)) expect(ok, subpath).toBe(true)

    // 5. One copy of effect in the whole tree: the application's.
    expect(effectCopies(app)).toEqual([join(app, "node_modules", "effect")])
    const listed = await npm(["ls", "effect", "--all", "--parseable"], app)
    expect(new Set(listed.stdout.trim().split("\n"))).toEqual(new Set([join(app, "node_modules", "effect")]))

    // 6. The CLI, from the installed package's bin (plain JavaScript: nothing to compile).
    const help = await run(join(app, "node_modules", ".bin", "effect-actors"), ["--help"], { cwd: app })
    expect(help.stdout).toContain("ask NAME JSON")
  })
})
