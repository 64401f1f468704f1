/**
 * The package manifest agrees with the public entry: one subpath export per
 * namespace of `src/index.ts`, pointing at the same module, with its types.
 * (The slow test in test/integration/package.test.ts installs the packed
 * tarball and imports every subpath.)
 */
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8")
const manifest = JSON.parse(read("package.json")) as {
  readonly exports: Record<string, string | { readonly types: string; readonly import: string }>
  readonly sideEffects: boolean
  readonly dependencies: Record<string, string>
  readonly peerDependencies: Record<string, string>
  readonly peerDependenciesMeta?: Record<string, { readonly optional?: boolean }>
  readonly devDependencies: Record<string, string>
  readonly scripts: Record<string, string>
}

describe("L1 package manifest", () => {
  it("has a subpath export for every namespace of the public entry, and nothing else", () => {
    const namespaces = [...read("src/index.ts").matchAll(/export \* as (\w+) from "\.\/(.+)\.js"/g)]
      .map(([, name, file]) => [`./${name}`, { types: `./dist/${file}.d.ts`, import: `./dist/${file}.js` }] as const)
    expect(namespaces.length).toBeGreaterThan(10)
    const subpaths = Object.entries(manifest.exports).filter(([key]) => key !== "." && key !== "./package.json")
    expect(Object.fromEntries(subpaths)).toEqual(Object.fromEntries(namespaces))
    expect(manifest.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" })
  })

  it("leaves effect and @effect/* to the application (peers on the 3.x line, pinned for our tests)", () => {
    const effectPackages = (deps: Record<string, string>) =>
      Object.keys(deps).filter((name) => name === "effect" || name.startsWith("@effect/"))
    expect(effectPackages(manifest.dependencies)).toEqual([])
    expect(manifest.peerDependencies["effect"]).toMatch(/^\^3\./)
    for (const name of effectPackages(manifest.peerDependencies)) {
      const pinned = manifest.devDependencies[name]
      expect(pinned, name).toMatch(/^\d+\.\d+\.\d+$/)
      expect(manifest.peerDependencies[name], name).toBe(`^${pinned}`)
    }
  })

  it("the README's install command lists every required peer with its range", () => {
    const command = /^npm i effect-actors (.*)$/m.exec(read("README.md"))
    const required = Object.entries(manifest.peerDependencies)
      .filter(([name]) => manifest.peerDependenciesMeta?.[name]?.optional !== true)
      .map(([name, range]) => `${name}@${range}`)
    expect(command?.[1]?.split(" ").sort()).toEqual(required.sort())
  })

  it("is free of side effects and builds before packing", () => {
    expect(manifest.sideEffects).toBe(false)
    expect(manifest.scripts["prepack"]).toContain("npm run build")
  })
})
