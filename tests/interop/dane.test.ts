/**
 * DANE (RFC 7672) matrix against a real DNSSEC world: nsd with signed zones, a validating
 * unbound, STARTTLS SMTP servers per MX host (tests/support/dane-lab.ts, the scenarios of
 * ../shared/labs/dnssec). Each case goes through dane-outbound's own wiring (config schema,
 * `mx` route, MX/address lookups, TlsPolicy, STARTTLS, checks) and asserts the outcome, the
 * delivery log line (CV=) and the event fields; a deferred DANE host must never have received
 * the message (no cleartext fallback).
 */
import { join } from "node:path";
import { configSchema } from "@postern/dane-outbound";
import {
  createResolver,
  deliveryLogLine,
  outcomeEvent,
  parseRoute,
  TlsPolicy,
  tlsFailEvent,
  transportFactory,
  type DeliveryJob,
  type RcptResult,
  type Route,
  type Target,
} from "@postern/dane-outbound/internal";
import { startDaneLab, type DaneLab } from "../support/dane-lab";

jest.setTimeout(120_000);

let lab: DaneLab;
beforeAll(async () => {
  lab = await startDaneLab();
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

const MX = parseRoute("mx") as Route;

/** A transport with the dane_outbound options given, as the service builds it. */
function transport(options: Record<string, unknown>): (job: DeliveryJob) => Promise<RcptResult[]> {
  const cfg = configSchema.parse({
    dane_outbound: {
      routes: { "*": "mx" },
      dns: { servers: [lab.resolver] },
      smtp_port: lab.smtpPort,
      ip_families: ["ipv4"],
      connection_idle_ms: 0,
      host_down_seconds: 0,
      connect_timeout_ms: 10_000,
      command_timeout_ms: 20_000,
      helo_name: "client.test",
      tls_verify_certificates: join(lab.dir, "certs/ca.crt"),
      ...options,
    },
  }).dane_outbound;
  const resolver = createResolver({ servers: [lab.resolver], timeoutMs: 3000 });
  const policy = new TlsPolicy(resolver, cfg);
  return transportFactory(cfg, resolver, policy).transportFor(MX).deliver;
}

let n = 0;
async function deliverTo(domain: string, options: Record<string, unknown> = {}) {
  const messageId = `dane-${++n}`;
  const target: Target = { pos: 0, address: `user@${domain}`, localPart: "user", domain, notify: [] };
  const job: DeliveryJob = {
    messageId,
    sender: "sender@client.test",
    body: Buffer.from("Subject: dane\r\n\r\nhello\r\n"),
    smtpUtf8: false,
    bodyType: "7BIT",
    dsnRet: undefined,
    dsnEnvid: "",
    recipients: [target],
    domain,
    working: () => undefined,
  };
  const [result] = await transport(options)(job);
  if (result === undefined) throw new Error("no result");
  const ctx = { messageId, sender: job.sender, attempt: 1, routerName: "route:*", transportName: "smtp" };
  const line = deliveryLogLine({ ...ctx, recipient: target.address }, result);
  const event = outcomeEvent(ctx, target, result);
  const failEvents = (result.tried ?? []).flatMap((d, seq) => (d.tlsFailure ? [tlsFailEvent(ctx, { ...d, tlsFailure: d.tlsFailure }, seq)] : []));
  return { result, line, event, failEvents };
}

interface Case {
  name: string;
  domain: string;
  /** The MX host whose server must (deliver) or must not (defer) have received the message. */
  host: string;
  /** H= on the log line when it differs from `host` (the MX name before CNAME expansion). */
  logHost?: string;
  options?: Record<string, unknown>;
  want: "deliver" | "defer";
  /** CV= on the log line (deliveries). */
  cv?: "dane" | "yes" | "no";
  /** tls_out_dane / tls_out_tlsa_usage on msg:delivery. */
  dane?: "yes" | "no";
  usage?: number;
  /** dane:fail reason (defers). */
  fail?: string;
  errstr?: RegExp;
}

const REQUIRE_UNSIGNED = { hosts_require_dane: "127.0.1.12" };

const cases: Case[] = [
  { name: "DANE-EE 3 1 1 match", domain: "ee.example.test", host: "mx-ee.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "DANE-EE 3 0 1 (full certificate)", domain: "full.example.test", host: "mx-full.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "DANE-EE 3 1 2 (SHA-512)", domain: "sha512.example.test", host: "mx-sha512.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "DANE-EE with an expired self-signed certificate", domain: "expired.example.test", host: "mx-expired.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "DANE-EE with a wrong name (self-signed)", domain: "wrongname.example.test", host: "mx-wrongname.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "DANE-EE through a CNAME'd MX host (TLSA at the target)", domain: "cname.example.test", host: "mx-ee.example.test", logHost: "mx-cname.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "DANE-TA 2 1 1 match and name", domain: "ta.example.test", host: "mx-ta.example.test", want: "deliver", cv: "dane", dane: "yes", usage: 4 },
  {
    name: "DANE-TA name mismatch",
    domain: "ta-wrongname.example.test",
    host: "mx-ta-wrongname.example.test",
    want: "defer",
    fail: "validation-failure",
    errstr: /matches none of the names mx-ta-wrongname\.example\.test/,
  },
  { name: "no matching TLSA record", domain: "nomatch.example.test", host: "mx-nomatch.example.test", want: "defer", fail: "validation-failure", errstr: /no DANE-EE TLSA record matches/ },
  { name: "bogus TLSA RRset (broken RRSIG)", domain: "broken.test", host: "mx.broken.test", want: "defer", fail: "dnssec-invalid", errstr: /DNSSEC validation of the TLSA lookup failed/ },
  { name: "insecure zone: no DANE, opportunistic TLS", domain: "unsigned.test", host: "mx.unsigned.test", want: "deliver", cv: "no", dane: "no", usage: 0 },
  { name: "secure zone without TLSA: PKIX-verified opportunistic TLS", domain: "notlsa.example.test", host: "mx-notlsa.example.test", want: "deliver", cv: "yes", dane: "no", usage: 0 },
  {
    name: "STARTTLS not offered by a DANE host",
    domain: "nostarttls.example.test",
    host: "mx-nostarttls.example.test",
    want: "defer",
    fail: "starttls-not-supported",
    errstr: /TLSA records require TLS/,
  },
  {
    name: "hosts_require_dane without DNSSEC",
    domain: "unsigned.test",
    host: "mx.unsigned.test",
    options: REQUIRE_UNSIGNED,
    want: "defer",
    fail: "dane-required",
    errstr: /DANE required but not usable: the MX lookup is not DNSSEC-secure/,
  },
  { name: "hosts_require_dane with DANE available", domain: "ee.example.test", host: "mx-ee.example.test", options: { hosts_require_dane: "*" }, want: "deliver", cv: "dane", dane: "yes", usage: 8 },
  { name: "hosts_try_dane not matching: plain opportunistic TLS", domain: "nomatch.example.test", host: "mx-nomatch.example.test", options: { hosts_try_dane: "" }, want: "deliver", cv: "yes", dane: "no", usage: 0 },
];

describe("DANE matrix (dnssec lab)", () => {
  it.each(cases)("$name → $want", async (c) => {
    const server = lab.servers.get(c.host);
    if (server === undefined) throw new Error(`no server for ${c.host}`);
    const before = server.delivered;
    const { result, line, event, failEvents } = await deliverTo(c.domain, c.options);
    if (c.want === "deliver") {
      expect({ status: result.status, line }).toMatchObject({ status: "delivered" });
      expect(line).toMatch(new RegExp(` => user@${c.domain.replace(/\./g, "\\.")} R=route:\\* T=smtp H=${(c.logHost ?? c.host).replace(/\./g, "\\.")} \\[127\\.0\\.1\\.\\d+\\]:\\d+ X=TLSv1\\.[23]:\\S+ CV=${c.cv} C="250 2\\.0\\.0 OK queued"`));
      expect(event.name).toBe("msg:delivery");
      // The seed's hosts_request_ocsp default under DANE: no staple asked for when DANE-EE records exist.
      const ocsp = c.usage === 8 ? "not-requested" : "not-received";
      expect(event.attributes).toMatchObject({ tls_out_dane: c.dane, tls_out_tlsa_usage: String(c.usage), tls_out_ocsp: ocsp });
      expect(failEvents).toEqual([]);
      expect(server.delivered).toBe(before + 1);
    } else {
      expect(result.status).toBe("deferred");
      expect((result as { errstr?: string }).errstr).toMatch(c.errstr ?? /./);
      expect(line).toMatch(new RegExp(` == user@${c.domain.replace(/\./g, "\\.")} R=route:\\* T=smtp H=${c.host.replace(/\./g, "\\.")} .*defer \\(-3[89]\\): DANE: `));
      expect(line).not.toMatch(/ CV=/);
      expect(event.name).toBe("msg:rcpt:defer");
      expect(event.attributes).toMatchObject({ tls_out_dane: "no", dane_fail_reason: c.fail });
      expect(failEvents.map((e) => [e.name, e.attributes["dane_fail_reason"], e.deliveryFqdn])).toEqual([["dane:fail", c.fail, c.host]]);
      // Never a cleartext (or unauthenticated) fallback: the server got nothing.
      expect(server.delivered).toBe(before);
    }
  });

  it("MX lookup bogus (wrong DS): defers as a DNS failure before any connection", async () => {
    const server = lab.servers.get("mx.bogusds.test");
    const { result, line, event } = await deliverTo("bogusds.test");
    expect(result).toMatchObject({ status: "deferred", dnsFail: true });
    expect(line).toMatch(/ == user@bogusds\.test R=route:\* T=smtp defer \(-?\d+\): /);
    expect(line).not.toMatch(/ CV=/);
    expect(event.name).toBe("msg:rcpt:defer");
    expect(server?.handshakes).toBe(0);
    expect(server?.delivered).toBe(0);
  });
});
