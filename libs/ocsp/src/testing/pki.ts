/**
 * Test-only: a throw-away openssl CA (tests/fixtures/ocsp/pki.sh) and real `openssl ocsp`
 * responses made one request at a time (-reqin/-respout), so library tests need no sockets.
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const PKI_SCRIPT = resolve(__dirname, "../../../../tests/fixtures/ocsp/pki.sh");

export type CertName =
  | "ca"
  | "good"
  | "flip"
  | "other"
  | "noaia"
  | "unknown"
  | "signer"
  | "signer-short"
  | "signer-expired"
  | "signer-noeku"
  | "other-ca"
  | "other-signer"
  | "impostor-ca";

export interface RespondOptions {
  /** certificate asked about (default "good") */
  cert?: CertName;
  /** a request DER to answer instead of openssl's own request for `cert` */
  request?: Uint8Array;
  /** who signs (default "signer"); "ca" signs with the issuer's key */
  signer?: CertName;
  /** nextUpdate = thisUpdate + nmin minutes (or ndays days); neither: no nextUpdate */
  nmin?: number;
  ndays?: number;
  noCerts?: boolean;
  /** responder id by key hash instead of by name */
  keyId?: boolean;
  /** digest for the signature, e.g. "sha1" */
  digest?: string;
}

export interface Pki {
  dir: string;
  der(name: CertName): Buffer;
  respond(opts?: RespondOptions): Buffer;
  revoke(name: CertName, reason?: string): void;
  remove(): void;
}

/** openssl with LEAF_NAME set: the CA configuration refers to it. */
const run = (args: string[]): Buffer =>
  execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LEAF_NAME: "unused.ocsp.test" } });

/** A fresh PKI whose leaves point their AIA OCSP URL at 127.0.0.1:port. */
export function makePki(port = 9, shortSignerMinutes = 10): Pki {
  const dir = mkdtempSync(join(tmpdir(), "postern-ocsp-pki-"));
  execFileSync("bash", [PKI_SCRIPT, dir, String(port), String(shortSignerMinutes)], { stdio: ["ignore", "pipe", "pipe"] });
  const file = (name: string): string => join(dir, name);
  let n = 0;
  return {
    dir,
    der: (name) => Buffer.from(new X509Certificate(readFileSync(file(`${name}.crt`))).raw),
    respond(opts = {}) {
      const id = ++n;
      const reqFile = file(`req-${id}.der`);
      const respFile = file(`resp-${id}.der`);
      if (opts.request !== undefined) writeFileSync(reqFile, opts.request);
      else run(["ocsp", "-issuer", file("ca.crt"), "-cert", file(`${opts.cert ?? "good"}.crt`), "-no_nonce", "-reqout", reqFile]);
      const signer = opts.signer ?? "signer";
      const args = ["ocsp", "-index", file("index.txt"), "-CA", file("ca.crt"), "-rsigner", file(`${signer}.crt`)];
      args.push("-rkey", file(`${signer}.key`), "-reqin", reqFile, "-respout", respFile);
      if (opts.nmin !== undefined) args.push("-nmin", String(opts.nmin));
      if (opts.ndays !== undefined) args.push("-ndays", String(opts.ndays));
      if (opts.noCerts === true) args.push("-resp_no_certs");
      if (opts.keyId === true) args.push("-resp_key_id");
      if (opts.digest !== undefined) args.push("-rmd", opts.digest);
      run(args);
      return readFileSync(respFile);
    },
    revoke(name, reason = "keyCompromise") {
      run(["ca", "-batch", "-config", file("openssl.cnf"), "-revoke", file(`${name}.crt`), "-crl_reason", reason]);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
