import { sendMail } from "../support/smtp-client";
import { type HaproxyFrontends, type LabCerts, makeLabCerts, startHaproxy } from "../support/haproxy";
import { type Stack, startStack } from "../support/stack";

/**
 * PROXY headers from real HAProxy (Debian 2.6): the client connects from
 * 127.0.0.2, haproxy reaches the edge from 127.0.0.1, so the edge must log
 * 127.0.0.2 as the client and 127.0.0.1 as PRX=.
 */
describe("interop: HAProxy in front of the edge", () => {
  let stack: Stack;
  let haproxy: HaproxyFrontends;
  let certs: LabCerts;

  beforeAll(async () => {
    certs = makeLabCerts();
    stack = await startStack({ edge: { hosts_proxy: ["127.0.0.1"] }, logLevel: "debug" });
    haproxy = await startHaproxy(stack.smtpPort, certs);
  }, 60_000);

  afterAll(async () => {
    await haproxy?.stop();
    await stack?.stop();
  });

  const received = (id: string): Record<string, unknown> | undefined => stack.logs.lines.find((l) => l.event === "msg.received" && l.message_id === id);
  /** Headers that carried our client (haproxy's readiness probes come from 127.0.0.1). */
  const proxyAccepted = (): Array<Record<string, unknown>> =>
    stack.logs.lines.filter((l) => l.event === "proxy.accepted" && (l.source as { address?: string } | undefined)?.address === "127.0.0.2");

  it.each([
    ["send-proxy (v1)", "v1" as const],
    ["send-proxy-v2", "v2" as const],
    ["send-proxy-v2 with crc32c, unique-id, authority and ssl TLVs", "v2Options" as const],
  ])("%s: the edge logs the true client address", async (_label, frontend) => {
    const before = proxyAccepted().length;
    const sent = await sendMail({ host: "127.0.0.1", port: haproxy[frontend], localAddress: "127.0.0.2", from: "a@example.org", to: ["user@localhost"], body: "Subject: via haproxy\r\n\r\nhi\r\n" });
    const id = /id=(\S+)/.exec(sent.final)?.[1] ?? "";
    expect(received(id)).toMatchObject({ ip: "127.0.0.2", proxy_host_address: "127.0.0.1" });
    expect(received(id)?.msg).toMatch(/ \[127\.0\.0\.2\] P=esmtp PRX=127\.0\.0\.1 /);
    expect(proxyAccepted()[before]).toMatchObject({ version: frontend === "v1" ? 1 : 2, command: "PROXY", family: "TCP4" });
  });

  it("a TLS-terminating frontend (send-proxy-v2-ssl-cn) sends a header over 232 bytes; the edge records the TLS facts", async () => {
    const before = proxyAccepted().length;
    const sni = `${"sni-label-".repeat(7)}edge-lab.localhost`;
    const sent = await sendMail({
      host: "127.0.0.1",
      port: haproxy.tls,
      localAddress: "127.0.0.2",
      tls: { servername: sni, ALPNProtocols: ["smtp"], ca: certs.ca, cert: certs.clientCert, key: certs.clientKey, checkServerIdentity: () => undefined },
      from: "a@example.org",
      to: ["user@localhost"],
      body: "Subject: via haproxy TLS\r\n\r\nhi\r\n",
    });
    const id = /id=(\S+)/.exec(sent.final)?.[1] ?? "";
    const header = proxyAccepted()[before];
    expect(header?.header_bytes).toBeGreaterThan(232);
    expect(received(id)).toMatchObject({
      ip: "127.0.0.2",
      proxy_host_address: "127.0.0.1",
      proxy_tls_version: expect.stringMatching(/^TLSv1\.[23]$/) as unknown,
      proxy_tls_cipher: expect.stringMatching(/^TLS_|^ECDHE-/) as unknown,
      proxy_tls_client_cn: certs.clientCn,
    });
  });
});
