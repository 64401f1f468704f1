/**
 * Certificates generated at run time with the openssl CLI (never committed):
 * a CA, a server certificate for 127.0.0.1, a client certificate signed by
 * the CA, and a client certificate signed by another CA (to be refused).
 */
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface Certs {
  readonly ca: string
  readonly serverCert: string
  readonly serverKey: string
  readonly clientCert: string
  readonly clientKey: string
  readonly rogueCert: string
  readonly rogueKey: string
}

const openssl = (dir: string, args: ReadonlyArray<string>) =>
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] })

const makeCa = (dir: string, name: string) =>
  openssl(dir, [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "1", "-subj", `/CN=${name}`
  ])

const makeLeaf = (dir: string, name: string, ca: string, ext: string) => {
  openssl(dir, [
    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${name}`
  ])
  writeFileSync(join(dir, `${name}.ext`), ext)
  openssl(dir, [
    "x509", "-req", "-in", `${name}.csr`, "-CA", `${ca}.crt`, "-CAkey", `${ca}.key`, "-CAcreateserial",
    "-out", `${name}.crt`, "-days", "1", "-extfile", `${name}.ext`
  ])
}

/** Generates a fresh set of certificates in a temporary directory, then deletes the files. */
export const generateCerts = (): Certs => {
  const dir = mkdtempSync(join(tmpdir(), "effect-actors-certs-"))
  try {
    makeCa(dir, "ca")
    makeCa(dir, "rogue-ca")
    makeLeaf(dir, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    makeLeaf(dir, "client", "ca", "extendedKeyUsage=clientAuth\n")
    makeLeaf(dir, "rogue", "rogue-ca", "extendedKeyUsage=clientAuth\n")
    const read = (file: string) => readFileSync(join(dir, file), "utf8")
    return {
      ca: read("ca.crt"),
      serverCert: read("server.crt"),
      serverKey: read("server.key"),
      clientCert: read("client.crt"),
      clientKey: read("client.key"),
      rogueCert: read("rogue.crt"),
      rogueKey: read("rogue.key")
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
