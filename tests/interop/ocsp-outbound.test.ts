/**
 * OCSP as a client (hosts_require_ocsp / hosts_request_ocsp) against real OpenSSL OCSP
 * responses stapled by a STARTTLS server, through dane-outbound's SMTP client and TlsPolicy.
 * The PKI is tests/fixtures/ocsp/pki.sh (the ocsp lab's CA, delegated signers incl. one valid
 * 2020-2021); responses come from `openssl ocsp -reqin/-respout` (the responder of the lab,
 * one request at a time), so every staple is what a real responder says.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  deliverToHosts,
  deliveryLogLine,
  HostMemory,
  Limiter,
  outcomeEvent,
  SessionPool,
  TlsPolicy,
  tlsFailEvent,
  type DaneResolver,
  type DeliveryJob,
  type SmtpClientOptions,
  type Target,
} from "@postern/dane-outbound/internal";
import { freePort } from "@postern/testing";
import { startTlsSmtpServer } from "../support/dane-lab";

jest.setTimeout(120_000);

const PKI_SCRIPT = resolve(__dirname, "../fixtures/ocsp/pki.sh");
let dir: string;
const file = (name: string): string => join(dir, name);
const openssl = (args: string[]): void => {
  execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LEAF_NAME: "unused.ocsp.test" } });
};

/** A response from `openssl ocsp` for `cert`, signed by `signer`, valid for one day. */
function respond(cert: string, signer: string): Buffer {
  const req = file(`req-${cert}-${signer}.der`);
  const resp = file(`resp-${cert}-${signer}.der`);
  openssl(["ocsp", "-issuer", file("ca.crt"), "-cert", file(`${cert}.crt`), "-no_nonce", "-reqout", req]);
  openssl(["ocsp", "-index", file("index.txt"), "-CA", file("ca.crt"), "-rsigner", file(`${signer}.crt`), "-rkey", file(`${signer}.key`), "-reqin", req, "-respout", resp, "-ndays", "1"]);
  return readFileSync(resp);
}

const responses: Record<string, Buffer> = {};
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "postern-ocsp-outbound-"));
  execFileSync("bash", [PKI_SCRIPT, dir, "9", "10"], { stdio: ["ignore", "pipe", "pipe"] });
  openssl(["ca", "-batch", "-config", file("openssl.cnf"), "-revoke", file("flip.crt"), "-crl_reason", "keyCompromise"]);
  responses["good"] = respond("good", "signer");
  responses["revoked"] = respond("flip", "signer");
  responses["expired-signer"] = respond("good", "signer-expired");
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** DANE is off here (manual route, no dnssec_resolvers): the resolver is never asked. */
const noDns: DaneResolver = {
  query: () => Promise.reject(new Error("no DNS in this test")),
  tlsa: () => Promise.reject(new Error("no DNS in this test")),
};

interface Case {
  name: string;
  /** Certificate the server presents (pki.sh name) and the staple it sends (undefined: none). */
  cert: string;
  staple: string | undefined;
  config: Record<string, unknown>;
  /** The client's clock is this far ahead (an expired response without waiting a day). */
  clockAheadMs?: number;
  want: "deliver" | "defer";
  ocsp?: string;
  reason?: string;
  errstr?: RegExp;
}

const REQUIRE = { hosts_require_ocsp: "127.0.0.1" };
const cases: Case[] = [
  { name: "good staple, hosts_require_ocsp", cert: "good", staple: "good", config: REQUIRE, want: "deliver", ocsp: "verified" },
  { name: "revoked staple, hosts_require_ocsp", cert: "flip", staple: "revoked", config: REQUIRE, want: "defer", reason: "ocsp-revoked", errstr: /OCSP: the server certificate is revoked \(keyCompromise\)/ },
  {
    name: "expired response (nextUpdate passed), hosts_require_ocsp",
    cert: "good",
    staple: "good",
    config: REQUIRE,
    clockAheadMs: 2 * 86_400_000,
    want: "defer",
    reason: "ocsp-required",
    errstr: /stapled response invalid \(POSTERN_OCSP_EXPIRED\)/,
  },
  {
    name: "response signed by an expired delegated signer, hosts_require_ocsp",
    cert: "good",
    staple: "expired-signer",
    config: REQUIRE,
    want: "defer",
    reason: "ocsp-required",
    errstr: /stapled response invalid \(POSTERN_OCSP_SIGNER_VALIDITY\)/,
  },
  { name: "no staple, hosts_require_ocsp", cert: "good", staple: undefined, config: REQUIRE, want: "defer", reason: "ocsp-required", errstr: /stapled no OCSP response/ },
  { name: "no staple, only requested (default hosts_request_ocsp)", cert: "good", staple: undefined, config: {}, want: "deliver", ocsp: "not-received" },
  { name: "expired signer, only requested: not enforced", cert: "good", staple: "expired-signer", config: {}, want: "deliver", ocsp: "failed" },
  { name: "revoked, only requested: a verified revocation still fails", cert: "flip", staple: "revoked", config: {}, want: "defer", reason: "ocsp-revoked", errstr: /revoked/ },
  { name: "hosts_request_ocsp empty: nothing asked", cert: "good", staple: "good", config: { hosts_request_ocsp: "" }, want: "deliver", ocsp: "not-requested" },
];

describe("OCSP stapling as a client (hosts_require_ocsp / hosts_request_ocsp)", () => {
  it.each(cases)("$name → $want", async (c) => {
    const port = await freePort();
    const stapled = c.staple === undefined ? undefined : responses[c.staple];
    const server = await startTlsSmtpServer({
      host: "127.0.0.1",
      port,
      key: readFileSync(file(`${c.cert}.key`)),
      cert: Buffer.concat([readFileSync(file(`${c.cert}.crt`)), readFileSync(file("ca.crt"))]),
      ocsp: () => stapled,
      name: `${c.cert}.ocsp.test`,
    });
    try {
      const clock = (): Date => new Date(Date.now() + (c.clockAheadMs ?? 0));
      const policy = new TlsPolicy(noDns, { tls_verify_certificates: file("ca.crt"), ...c.config }, clock);
      const opts: SmtpClientOptions = {
        lmtp: false,
        heloName: "client.test",
        connectTimeoutMs: 10_000,
        commandTimeoutMs: 20_000,
        tls: true,
        tryPrdr: () => false,
        pool: new SessionPool(0, 1),
        hostLimit: new Limiter(0),
        hostMemory: new HostMemory(0),
        tlsPolicy: policy,
      };
      const target: Target = { pos: 0, address: "user@ocsp.test", localPart: "user", domain: "ocsp.test", notify: [] };
      const job: DeliveryJob = {
        messageId: "ocsp-1",
        sender: "sender@client.test",
        body: Buffer.from("Subject: ocsp\r\n\r\nhello\r\n"),
        smtpUtf8: false,
        bodyType: "7BIT",
        dsnRet: undefined,
        dsnEnvid: "",
        recipients: [target],
        working: () => undefined,
      };
      const host = { name: `${c.cert}.ocsp.test`, ip: "127.0.0.1", port };
      const [result] = await deliverToHosts([host], job, opts);
      if (result === undefined) throw new Error("no result");
      const ctx = { messageId: job.messageId, sender: job.sender, attempt: 1, routerName: "route:*", transportName: "smtp" };
      const line = deliveryLogLine({ ...ctx, recipient: target.address }, result);
      const event = outcomeEvent(ctx, target, result);
      if (c.want === "deliver") {
        expect(result.status).toBe("delivered");
        // PKIX with the test CA and the right name: CV=yes, whatever the staple said.
        expect(line).toMatch(/ => user@ocsp\.test R=route:\* T=smtp H=\S+\.ocsp\.test \[127\.0\.0\.1\]:\d+ X=TLSv1\.[23]:\S+ CV=yes C="250 /);
        expect(event.attributes).toMatchObject({ tls_out_ocsp: c.ocsp, tls_out_dane: "no" });
        expect(server.delivered).toBe(1);
      } else {
        expect(result.status).toBe("deferred");
        expect((result as { errstr: string }).errstr).toMatch(c.errstr ?? /./);
        expect(line).toMatch(/ == user@ocsp\.test R=route:\* T=smtp H=\S+ \[127\.0\.0\.1\]:\d+ defer \(-39\): OCSP: /);
        expect(event.attributes).toMatchObject({ tls_fail_reason: c.reason });
        const fails = (result.tried ?? []).flatMap((d, seq) => (d.tlsFailure ? [tlsFailEvent(ctx, { ...d, tlsFailure: d.tlsFailure }, seq)] : []));
        expect(fails.map((e) => [e.name, e.attributes["tls_fail_reason"]])).toEqual([["tls:fail:connect", c.reason]]);
        // The session was dropped after the handshake: one connection, no message, no retry in clear.
        expect(server.connections).toBe(1);
        expect(server.delivered).toBe(0);
      }
    } finally {
      await server.close();
    }
  });
});
