/**
 * HAProxy-shaped headers (see fixtures/README.md): the sizes the lab measured
 * on haproxy 2.6 (43, 28, 128, 288, 354 bytes), parsed with their CRC32C, and
 * rebuilt byte-for-byte by our encoder.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { encodeProxyHeaderV1, encodeProxyHeaderV2 } from "./encode";
import { parseProxyHeader } from "./parser";
import { everySplit, feed, outcome, whole } from "./test/support";
import { sslClientFlags, type ProxyHeader, type ProxyTlvs } from "./types";

const load = (name: string): Buffer => readFileSync(join(__dirname, "fixtures", name));
const SNI = "authority-tlv-sni.a-deliberately-long-hostname-for-proxy-v2.edge-lab.example.test";
const CN = "pp-lab-client-cert-common-name-0123456789.edge-lab.example.test";
const uid = (sport: number, dport: number): Buffer =>
  Buffer.from(`edge-lab-unique-id-127.0.0.1-${sport}-127.0.0.1-${dport}-0123456789abcdef0123456789abcdef`);
const lo = (port: number) => ({ address: "127.0.0.1", port });
const tls = { version: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", sigAlg: "RSA-SHA256", keyAlg: "RSA2048", unknown: [] };

interface Fixture {
  file: string;
  wantBytes: number;
  wantVersion: 1 | 2;
  wantSource: { address: string; port: number };
  wantDestination: { address: string; port: number };
  wantTlvs: Omit<ProxyTlvs, "crc32c" | "noop" | "unknown">;
  wantCrc: boolean;
}

const fixtures: Fixture[] = [
  { file: "haproxy-a-v1-43.bin", wantBytes: 43, wantVersion: 1, wantSource: lo(40003), wantDestination: lo(2601), wantTlvs: {}, wantCrc: false },
  { file: "haproxy-b-v2-28.bin", wantBytes: 28, wantVersion: 2, wantSource: lo(40004), wantDestination: lo(2602), wantTlvs: {}, wantCrc: false },
  {
    file: "haproxy-c-v2opt-128.bin",
    wantBytes: 128,
    wantVersion: 2,
    wantSource: lo(40000),
    wantDestination: lo(2603),
    wantTlvs: { uniqueId: uid(40000, 2603), ssl: { client: 0, verify: 0, unknown: [] } },
    wantCrc: true,
  },
  {
    file: "haproxy-d-tls-nocert-288.bin",
    wantBytes: 288,
    wantVersion: 2,
    wantSource: lo(40001),
    wantDestination: lo(2604),
    wantTlvs: { alpn: Buffer.from("x-edge-lab-alpn"), authority: SNI, uniqueId: uid(40001, 2604), ssl: { client: sslClientFlags.ssl, verify: 0, ...tls } },
    wantCrc: true,
  },
  {
    file: "haproxy-d-tls-clientcert-354.bin",
    wantBytes: 354,
    wantVersion: 2,
    wantSource: lo(40002),
    wantDestination: lo(2604),
    wantTlvs: { alpn: Buffer.from("x-edge-lab-alpn"), authority: SNI, uniqueId: uid(40002, 2604), ssl: { client: 0x07, verify: 0, cn: CN, ...tls } },
    wantCrc: true,
  },
];

describe.each(fixtures.map((f) => [f.file, f] as const))("%s", (_file, f) => {
  const bytes = load(f.file);
  const smtp = Buffer.from("EHLO probe.lab.test\r\n");

  test("parses with the expected facts and CRC32C", () => {
    expect(bytes.length).toBe(f.wantBytes);
    const r = parseProxyHeader(Buffer.concat([bytes, smtp]));
    expect(r.status).toBe("done");
    if (r.status !== "done") return;
    const crc = f.wantCrc ? { crc32c: { value: bytes.readUInt32BE(31), verified: true as const } } : {};
    const want: ProxyHeader = {
      version: f.wantVersion,
      command: "PROXY",
      family: "TCP4",
      transport: "STREAM",
      source: f.wantSource,
      destination: f.wantDestination,
      useSocketAddresses: false,
      tlvs: { noop: 0, unknown: [], ...f.wantTlvs, ...crc },
    };
    expect(r.header).toEqual(want);
    expect(r.headerBytes).toBe(f.wantBytes);
    expect(r.rest).toEqual(smtp);
  });

  test("same result fed whole, byte by byte and cut at every position", () => {
    const input = Buffer.concat([bytes, smtp]);
    const base = outcome(feed(whole(input)));
    for (const [how, split] of everySplit(input.length)) expect({ how, o: outcome(feed(split(input))) }).toEqual({ how, o: base });
  });

  test("our encoder rebuilds the same bytes, CRC32C included", () => {
    const r = parseProxyHeader(bytes);
    if (r.status !== "done") throw new Error("fixture did not parse");
    const again = f.wantVersion === 1 ? encodeProxyHeaderV1(r.header) : encodeProxyHeaderV2(r.header);
    expect(again.toString("hex")).toBe(bytes.toString("hex"));
  });

  // Only a flip of the CRC32C TLV's own type byte (byte 28) can pass, and then without a CRC.
  test("one flipped bit anywhere is caught (CRC32C or structure)", () => {
    if (!f.wantCrc) return;
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = Buffer.from(bytes);
        b[i]! ^= 1 << bit;
        const r = parseProxyHeader(b);
        if (r.status === "done") expect({ i, crc: r.header.tlvs.crc32c }).toEqual({ i: 28, crc: undefined });
      }
    }
  });
});
