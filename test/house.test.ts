/**
 * The house's rule, checked on the code: no module of `src/` imports itself
 * back at run time. Type-only imports (`import type`, `type` specifiers,
 * `import("...")` in types) are erased by the compiler and may point back.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import ts from "typescript"

const root = path.resolve(import.meta.dirname, "../src")

const sourceFiles = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : []
  })

/** The files of `src/` that `file` imports at run time. */
const runtimeImports = (file: string): Array<string> => {
  const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest)
  const out: Array<string> = []
  for (const statement of source.statements) {
    let specifier: ts.Expression | undefined
    if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause
      if (clause?.isTypeOnly) continue
      const bindings = clause?.namedBindings
      const onlyTypes = clause !== undefined && clause.name === undefined && bindings !== undefined &&
        ts.isNamedImports(bindings) && bindings.elements.length > 0 &&
        bindings.elements.every((element) => element.isTypeOnly)
      if (onlyTypes) continue
      specifier = statement.moduleSpecifier
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier !== undefined) {
      if (statement.isTypeOnly) continue
      specifier = statement.moduleSpecifier
    }
    if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith(".")) continue
    out.push(path.resolve(path.dirname(file), specifier.text.replace(/\.js$/, ".ts")))
  }
  return out
}

/** Every cycle of run-time imports, each as a list of paths from `src/`. */
const cycles = (files: ReadonlyArray<string>): Array<Array<string>> => {
  const graph = new Map(files.map((file) => [file, runtimeImports(file)]))
  const found: Array<Array<string>> = []
  const state = new Map<string, "open" | "done">()
  const stack: Array<string> = []
  const visit = (file: string): void => {
    state.set(file, "open")
    stack.push(file)
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") {
        found.push(stack.slice(stack.indexOf(next)).map((f) => path.relative(root, f)))
      } else if (state.get(next) === undefined && graph.has(next)) {
        visit(next)
      }
    }
    stack.pop()
    state.set(file, "done")
  }
  for (const file of files) if (state.get(file) === undefined) visit(file)
  return found
}

describe("the house", () => {
  it("src/ has no run-time import cycle", () => {
    expect(cycles(sourceFiles(root))).toEqual([])
  })

  it("the check sees a cycle when there is one", () => {
    const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env["TMPDIR"] ?? "/tmp"), "house-"))
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), `import { b } from "./b.js"\nimport type { T } from "./c.js"\nexport const a = b`)
      fs.writeFileSync(path.join(dir, "b.ts"), `import { a } from "./a.js"\nexport const b = 1`)
      fs.writeFileSync(path.join(dir, "c.ts"), `import { a } from "./a.js"\nexport type T = typeof a`)
      const files = ["a.ts", "b.ts", "c.ts"].map((f) => path.join(dir, f))
      expect(cycles(files).map((cycle) => cycle.map((f) => path.basename(f)))).toEqual([["a.ts", "b.ts"]])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
