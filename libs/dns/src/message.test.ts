import * as packet from "dns-packet";
import { EDNS_UDP_SIZE, decodeMessage, encodeQuery, matchesQuery } from "./message";
import type { Query } from "./types";

const query: Query = { name: "Mail.Example.com", type: "MX" };

function reply(overrides: Partial<packet.Packet> & { qr?: boolean } = {}): Buffer {
  const { qr = true, ...rest } = overrides;
  return packet.encode({ type: qr ? "response" : "query", id: 4242, flags: 0, questions: [{ name: "mail.example.com", type: "MX", class: "IN" }], ...rest });
}

describe("encodeQuery", () => {
  const decoded = packet.decode(encodeQuery(4242, query));
  it("asks for recursion and the AD bit, never CD", () => {
    expect(decoded.id).toBe(4242);
    expect(decoded.flag_qr).toBe(false);
    expect(decoded.flag_rd).toBe(true);
    expect(decoded.flag_ad).toBe(true);
    expect(decoded.flag_cd).toBe(false);
    expect(decoded.questions).toEqual([{ name: "Mail.Example.com", type: "MX", class: "IN" }]);
  });
  it("carries EDNS0 OPT with DO and a 1232-octet UDP size", () => {
    const opt = decoded.additionals?.find((r) => r.type === "OPT");
    expect(opt).toMatchObject({ type: "OPT", udpPayloadSize: EDNS_UDP_SIZE, flag_do: true, ednsVersion: 0 });
  });
});

describe("matchesQuery", () => {
  const cases: { name: string; bytes: Buffer; want: boolean }[] = [
    { name: "exact", bytes: reply(), want: true },
    { name: "name in another case", bytes: reply({ questions: [{ name: "MAIL.EXAMPLE.COM", type: "MX" }] }), want: true },
    { name: "name with trailing dot", bytes: reply({ questions: [{ name: "mail.example.com.", type: "MX" }] }), want: true },
    { name: "wrong ID", bytes: reply({ id: 4243 }), want: false },
    { name: "not a response", bytes: reply({ qr: false }), want: false },
    { name: "wrong name", bytes: reply({ questions: [{ name: "mail.example.org", type: "MX" }] }), want: false },
    { name: "wrong type", bytes: reply({ questions: [{ name: "mail.example.com", type: "A" }] }), want: false },
    { name: "wrong class", bytes: reply({ questions: [{ name: "mail.example.com", type: "MX", class: "CH" }] }), want: false },
    { name: "no question", bytes: reply({ questions: [] }), want: false },
    {
      name: "two questions",
      bytes: reply({ questions: [{ name: "mail.example.com", type: "MX" }, { name: "mail.example.com", type: "MX" }] }),
      want: false,
    },
    { name: "opcode not QUERY", bytes: reply({ flags: 2 << 11 }), want: false },
  ];
  it.each(cases)("$name", ({ bytes, want }) => {
    const msg = decodeMessage(bytes);
    expect(msg).not.toBeNull();
    if (msg !== null) expect(matchesQuery(msg, 4242, query)).toBe(want);
  });
});

describe("decodeMessage", () => {
  const good = reply({ answers: [{ name: "mail.example.com", type: "MX", ttl: 60, data: { preference: 10, exchange: "mx.example.com" } }] });

  it("returns null for every truncated prefix instead of throwing", () => {
    for (let n = 0; n < good.length; n++) expect(() => decodeMessage(good.subarray(0, n))).not.toThrow();
    for (let n = 0; n < 12; n++) expect(decodeMessage(good.subarray(0, n))).toBeNull();
    expect(decodeMessage(good.subarray(0, good.length - 1))).toBeNull();
  });

  it("returns null for a compression pointer loop", () => {
    const loop = Buffer.from(good);
    loop.writeUInt16BE(0xc000 | 12, 12); // the question name points at itself
    expect(decodeMessage(loop)).toBeNull();
  });

  it("keeps decoding when bytes are appended", () => {
    expect(decodeMessage(Buffer.concat([good, Buffer.from([0])]))?.answers?.length).toBe(1);
  });
});
