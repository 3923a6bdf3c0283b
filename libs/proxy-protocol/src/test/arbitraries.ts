/** fast-check arbitraries: valid header descriptions, and inputs derived from their encodings. */
import * as fc from "fast-check";
import { encodeProxyHeaderV1, encodeProxyHeaderV2, type ProxyHeaderInit } from "../encode";
import { formatIPv4, formatIPv6 } from "../ip";
import { V1_PREFIX, V2_SIGNATURE, type ProxyEndpoint, type ProxyHeader, type ProxyRawTlv, type ProxyTlvs } from "../types";

const port = fc.integer({ min: 0, max: 0xffff });
const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIPv4(b));
const word = fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }));
const ipv6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((ws) => {
  const b = Buffer.alloc(16);
  ws.forEach((w, i) => b.writeUInt16BE(w, 2 * i));
  return formatIPv6(b);
});
const endpoint = (ip: fc.Arbitrary<string>): fc.Arbitrary<ProxyEndpoint> => fc.record({ address: ip, port }, { noNullPrototype: true });
const ascii = fc.string({ unit: "binary-ascii", maxLength: 24 });
const utf8 = fc.string({ unit: "grapheme", maxLength: 12 });
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((u) => Buffer.from(u));
/** TLV types the parser does not decode at top level. */
const KNOWN = new Set([0x01, 0x02, 0x03, 0x04, 0x05, 0x20, 0x30]);
const unknownTlvs = (known: Set<number>): fc.Arbitrary<ProxyRawTlv[]> =>
  fc.array(
    fc.record({ type: fc.integer({ min: 0, max: 255 }).filter((t) => !known.has(t)), value: bytes(12) }, { noNullPrototype: true }),
    { maxLength: 3 },
  );
const unixPath = fc.string({ unit: "grapheme-ascii", maxLength: 40 }).filter((s) => !s.includes("\0"));

const ssl = fc.record(
  {
    client: fc.integer({ min: 0, max: 255 }),
    verify: fc.nat(),
    version: ascii,
    cn: utf8,
    cipher: ascii,
    sigAlg: ascii,
    keyAlg: ascii,
    unknown: unknownTlvs(new Set([0x21, 0x22, 0x23, 0x24, 0x25])),
  },
  { requiredKeys: ["client", "verify", "unknown"], noNullPrototype: true },
);

const tlvs = fc.record(
  {
    alpn: bytes(16),
    authority: utf8,
    crc32c: fc.constant(true),
    uniqueId: bytes(128),
    ssl,
    netns: ascii,
    noop: fc.integer({ min: 0, max: 2 }),
    unknown: unknownTlvs(KNOWN),
  },
  { requiredKeys: [], noNullPrototype: true },
);

const v2Addresses = fc.oneof(
  fc.record({ family: fc.constant("TCP4" as const), source: endpoint(ipv4), destination: endpoint(ipv4) }, { noNullPrototype: true }),
  fc.record({ family: fc.constant("TCP6" as const), source: endpoint(ipv6), destination: endpoint(ipv6) }, { noNullPrototype: true }),
  fc.record({ family: fc.constant("UNIX" as const), unixSource: unixPath, unixDestination: unixPath }, { noNullPrototype: true }),
  fc.record({ family: fc.constant("UNSPEC" as const) }, { noNullPrototype: true }),
);

export interface ValidSample {
  version: 1 | 2;
  init: ProxyHeaderInit;
  padTo: number | undefined;
  bytes: Buffer;
}

const v1Sample = fc
  .oneof(
    fc.record({ family: fc.constant("TCP4" as const), source: endpoint(ipv4), destination: endpoint(ipv4) }, { noNullPrototype: true }),
    fc.record({ family: fc.constant("TCP6" as const), source: endpoint(ipv6), destination: endpoint(ipv6) }, { noNullPrototype: true }),
    fc.record({ family: fc.constant("UNKNOWN" as const) }, { noNullPrototype: true }),
  )
  .map((init): ValidSample => ({ version: 1, init, padTo: undefined, bytes: encodeProxyHeaderV1(init) }));

const v2Sample = fc
  .tuple(fc.constantFrom("PROXY" as const, "LOCAL" as const), v2Addresses, tlvs, fc.option(fc.integer({ min: 0, max: 80 }), { freq: 2 }))
  .map(([command, addrs, t, extra]): ValidSample => {
    const init: ProxyHeaderInit = { command, ...addrs, tlvs: t };
    const plain = encodeProxyHeaderV2(init);
    if (extra === null) return { version: 2, init, padTo: undefined, bytes: plain };
    const padTo = plain.length + 3 + extra;
    return { version: 2, init, padTo, bytes: encodeProxyHeaderV2(init, { padTo }) };
  });

export const validSample: fc.Arbitrary<ValidSample> = fc.oneof(v1Sample, v2Sample);

const ADDRESS_BYTES = { TCP4: 12, TCP6: 36, UNIX: 216, UNSPEC: 0, UNKNOWN: 0 } as const;

/** The header the parser must return for a valid sample (CRC value read from the bytes). */
export function expectedHeader(s: ValidSample): ProxyHeader {
  const { init } = s;
  const command = init.command ?? "PROXY";
  const ip = init.family === "TCP4" || init.family === "TCP6";
  const t = init.tlvs ?? {};
  const h: ProxyHeader = {
    version: s.version,
    command,
    family: init.family,
    useSocketAddresses: command === "LOCAL" || !ip,
    tlvs: { noop: (t.noop ?? 0) + (s.padTo === undefined ? 0 : 1), unknown: t.unknown ?? [] },
  };
  if (ip || init.family === "UNIX") h.transport = "STREAM";
  if (ip) Object.assign(h, { source: init.source, destination: init.destination });
  if (init.family === "UNIX") Object.assign(h, { unixSource: init.unixSource, unixDestination: init.unixDestination });
  const toBuf = (v: Buffer | string | undefined): Buffer | undefined => (typeof v === "string" ? Buffer.from(v) : v);
  const found: Partial<ProxyTlvs> = {
    alpn: toBuf(t.alpn),
    authority: t.authority,
    uniqueId: toBuf(t.uniqueId),
    netns: t.netns,
    ssl: t.ssl && { verify: 0, ...t.ssl, unknown: t.ssl.unknown ?? [] },
    crc32c: t.crc32c ? { value: s.bytes.readUInt32BE(16 + ADDRESS_BYTES[init.family] + 3), verified: true } : undefined,
  };
  for (const [k, v] of Object.entries(found)) if (v !== undefined) Object.assign(h.tlvs, { [k]: v });
  return h;
}

/** Bit flips, truncation, a lying length field, spliced bytes, random TLVs appended. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("length" as const), len: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 0xffff })) }),
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), data: bytes(8) }),
  fc.record({
    kind: fc.constant("tlvs" as const),
    tlvs: fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: bytes(20), lie: fc.option(fc.integer({ min: 0, max: 40 })) }), { maxLength: 5 }),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(b: Buffer, m: Mutation): Buffer {
  const out = Buffer.from(b);
  const v2 = out.length >= 16 && out[0] === V2_SIGNATURE[0];
  if (out.length === 0 && (m.kind === "flip" || m.kind === "truncate")) return out;
  switch (m.kind) {
    case "flip":
      for (const at of m.at) out[at % out.length]! ^= 1 << at % 8;
      return out;
    case "truncate":
      return out.subarray(0, m.at % out.length);
    case "length":
      if (v2) out.writeUInt16BE(m.len, 14);
      return out;
    case "splice": {
      const at = m.at % (out.length + 1);
      return Buffer.concat([out.subarray(0, at), m.data, out.subarray(at)]);
    }
    case "tlvs": {
      const extra = m.tlvs.map(({ type, value, lie }) => {
        const h = Buffer.from([type, 0, 0]);
        h.writeUInt16BE(lie ?? value.length, 1);
        return Buffer.concat([h, value]);
      });
      const grown = Buffer.concat([out, ...extra]);
      if (v2) grown.writeUInt16BE(Math.min(grown.length - 16, 0xffff), 14);
      return grown;
    }
  }
}

export const mutatedInput: fc.Arbitrary<Buffer> = fc
  .tuple(validSample, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([s, ms]) => ms.reduce(mutate, s.bytes));

/** Random bytes, alone or behind a signature so that the parser gets past the first bytes. */
export const randomInput: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.constantFrom(Buffer.alloc(0), V1_PREFIX, Buffer.from("PROXY TCP4 "), Buffer.from("PROXY TCP6 "), V2_SIGNATURE, Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x11])])),
    bytes(160),
  )
  .map(([prefix, tail]) => Buffer.concat([prefix, tail]));
