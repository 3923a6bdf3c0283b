/**
 * Test-only: certificates made with openssl in a temp dir for the DANE table tests, modelled
 * on ../shared/labs/dnssec/certs/gen-certs.sh (a CA, CA-issued leaves, self-signed leaves,
 * expired ones). openssl 3.0 cannot back-date with `req`/`x509`, so `openssl ca` sets dates.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestCert {
  der: Buffer;
  x509: X509Certificate;
}

export interface DanePki {
  dir: string;
  /** name → certificate; see makeDanePki for the names. */
  cert(name: string): TestCert;
  remove(): void;
}

const CNF = `[ ca ]
default_ca = t
[ t ]
dir = DIR
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[ any ]
commonName = supplied
[ ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[ leaf_ext ]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = \${ENV::SAN}
[ nosan_ext ]
basicConstraints = CA:FALSE
`;

/**
 * Names: ca, ca2 (another CA), inter (intermediate under ca), leaf (mx.example.test by ca),
 * leaf-inter (mx.example.test by inter), wild (*.example.test by ca), wrongname (wrong-name.invalid by ca),
 * cn-only (CN mx.example.test, no SAN, by ca), leaf-expired (mx.example.test by ca, 2020-2021),
 * notca-issued (mx.example.test issued by the leaf `leaf`, which is no CA), other (mx.example.test by ca2),
 * ss (self-signed mx.example.test), ss-expired (self-signed, 2020-2021), ss-wrongname (self-signed wrong-name.invalid).
 */
export function makeDanePki(): DanePki {
  const dir = mkdtempSync(join(tmpdir(), "postern-dane-pki-"));
  const f = (n: string): string => join(dir, n);
  writeFileSync(f("ca.cnf"), CNF.replace("DIR", dir));
  writeFileSync(f("index.txt"), "");
  writeFileSync(f("serial"), "1000\n");
  execFileSync("mkdir", ["-p", f("new")]);
  const ossl = (args: string[], san = "DNS:unused.invalid"): void => {
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, SAN: san } });
  };
  const key = (n: string): void => ossl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f(`${n}.key`)]);
  const csr = (n: string, cn: string): void => ossl(["req", "-new", "-key", f(`${n}.key`), "-subj", `/CN=${cn}`, "-out", f(`${n}.csr`)]);
  /** issue(name, cn, issuer or "self", ext, san, dates) */
  const issue = (n: string, cn: string, issuer: string, ext: string, san: string, start = "-1 day", end: string | undefined = undefined): void => {
    key(n);
    csr(n, cn);
    const args = ["ca", "-batch", "-config", f("ca.cnf"), "-extensions", ext, "-notext", "-in", f(`${n}.csr`), "-out", f(`${n}.crt`)];
    if (issuer === "self") args.push("-selfsign", "-keyfile", f(`${n}.key`));
    else args.push("-cert", f(`${issuer}.crt`), "-keyfile", f(`${issuer}.key`));
    const utc = (d: string): string => execFileSync("date", ["-u", "-d", d, "+%Y%m%d%H%M%SZ"]).toString().trim();
    args.push("-startdate", /^\d{14}Z$/.test(start) ? start : utc(start));
    args.push("-enddate", end ?? utc("+365 days"));
    ossl(args, san);
  };
  issue("ca", "Test CA", "self", "ca_ext", "DNS:unused.invalid", "-1 day", "20400101000000Z");
  issue("ca2", "Other CA", "self", "ca_ext", "DNS:unused.invalid", "-1 day", "20400101000000Z");
  issue("inter", "Test Intermediate", "ca", "ca_ext", "DNS:unused.invalid");
  issue("leaf", "mx.example.test", "ca", "leaf_ext", "DNS:mx.example.test");
  issue("leaf-inter", "mx.example.test", "inter", "leaf_ext", "DNS:mx.example.test");
  issue("wild", "wild", "ca", "leaf_ext", "DNS:*.example.test");
  issue("wrongname", "wrong-name.invalid", "ca", "leaf_ext", "DNS:wrong-name.invalid");
  issue("cn-only", "mx.example.test", "ca", "nosan_ext", "DNS:unused.invalid");
  issue("leaf-expired", "mx.example.test", "ca", "leaf_ext", "DNS:mx.example.test", "20200101000000Z", "20210101000000Z");
  issue("notca-issued", "mx.example.test", "leaf", "leaf_ext", "DNS:mx.example.test");
  issue("other", "mx.example.test", "ca2", "leaf_ext", "DNS:mx.example.test");
  issue("ss", "mx.example.test", "self", "leaf_ext", "DNS:mx.example.test");
  issue("ss-expired", "mx.example.test", "self", "leaf_ext", "DNS:mx.example.test", "20200101000000Z", "20210101000000Z");
  issue("ss-wrongname", "wrong-name.invalid", "self", "leaf_ext", "DNS:wrong-name.invalid");
  const cache = new Map<string, TestCert>();
  return {
    dir,
    cert(name) {
      let c = cache.get(name);
      if (c === undefined) {
        const x509 = new X509Certificate(readFileSync(f(`${name}.crt`)));
        c = { der: x509.raw, x509 };
        cache.set(name, c);
      }
      return c;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
