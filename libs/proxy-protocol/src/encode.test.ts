import { encodeProxyHeaderV1, encodeProxyHeaderV2, type ProxyHeaderInit } from "./encode";
import { ProxyEncodeError } from "./errors";
import { parseProxyHeader } from "./parser";

const src = { address: "192.0.2.1", port: 40000 };
const dst = { address: "198.51.100.20", port: 25 };
const pad = (n: number): string => "00".repeat(n);

// Expected bytes from ../shared/labs/peers/pp_send.py --dump with the options named.
describe("encoders match pp_send.py byte for byte", () => {
  test.each<[string, Buffer, string]>([
    [
      "-V 2 --src 2001:db8::1 --dst 2001:db8::2 --sport 1234 --dport 25",
      encodeProxyHeaderV2({ family: "TCP6", source: { address: "2001:db8::1", port: 1234 }, destination: { address: "2001:db8::2", port: 25 } }),
      "0d0a0d0a000d0a515549540a2121002420010db800000000000000000000000120010db800000000000000000000000204d20019",
    ],
    ["--local", encodeProxyHeaderV2({ command: "LOCAL", family: "UNSPEC" }), "0d0a0d0a000d0a515549540a20000000"],
    [
      "--local --local-with-addr ...",
      encodeProxyHeaderV2({ command: "LOCAL", family: "TCP4", source: src, destination: dst }),
      "0d0a0d0a000d0a515549540a2011000cc0000201c63364149c400019",
    ],
    ["--unknown", encodeProxyHeaderV2({ family: "UNSPEC" }), "0d0a0d0a000d0a515549540a21000000"],
    [
      "--crc32c --alpn smtp --authority mx.example --unique-id abc --ssl --ssl-version TLSv1.3 --ssl-cn client --ssl-cipher ... --tlv netns=blue --tlv 0xE0=hex:0102 --pad-to 300",
      encodeProxyHeaderV2(
        {
          family: "TCP4",
          source: src,
          destination: dst,
          tlvs: {
            alpn: "smtp",
            authority: "mx.example",
            uniqueId: "abc",
            ssl: { client: 1, version: "TLSv1.3", cn: "client", cipher: "TLS_AES_256_GCM_SHA384" },
            netns: "blue",
            unknown: [{ type: 0xe0, value: Buffer.from([1, 2]) }],
          },
        },
        { crc32c: true, padTo: 300 },
      ),
      "0d0a0d0a000d0a515549540a2111011cc0000201c63364149c400019030004858b2074010004736d747002000a6d782e6578616d706c65" +
        "0500036162632000310100000000210007544c5376312e33220006636c69656e74230016544c535f4145535f3235365f47434d5f534841333834" +
        "300004626c7565e0000201020400ac" +
        pad(172),
    ],
    [
      "-V 1 --src 2001:db8::1 --dst 2001:db8::2 --sport 1234 --dport 25",
      encodeProxyHeaderV1({ family: "TCP6", source: { address: "2001:DB8:0::1", port: 1234 }, destination: { address: "2001:db8::2", port: 25 } }),
      Buffer.from("PROXY TCP6 2001:db8::1 2001:db8::2 1234 25\r\n").toString("hex"),
    ],
    ["-V 1 --unknown", encodeProxyHeaderV1({ family: "UNKNOWN" }), Buffer.from("PROXY UNKNOWN\r\n").toString("hex")],
  ])("%s", (_args, got, want) => {
    expect(got.toString("hex")).toBe(want);
    expect(parseProxyHeader(got).status).toBe("done");
  });
});

describe("encoder mapping", () => {
  test.each<[string, ProxyHeaderInit]>([
    ["LOCAL", { command: "LOCAL", family: "TCP4", source: src, destination: dst }],
    ["UNSPEC", { family: "UNSPEC" }],
    ["UNIX", { family: "UNIX", unixSource: "/a", unixDestination: "/b" }],
  ])("v1 writes %s as PROXY UNKNOWN", (_name, h) => {
    expect(encodeProxyHeaderV1(h).toString("latin1")).toBe("PROXY UNKNOWN\r\n");
  });

  test("v2 writes v1 UNKNOWN as AF_UNSPEC, DGRAM when asked, NOOPs by count", () => {
    expect(encodeProxyHeaderV2({ family: "UNKNOWN" })[13]).toBe(0x00);
    expect(encodeProxyHeaderV2({ family: "TCP4", transport: "DGRAM", source: src, destination: dst })[13]).toBe(0x12);
    const r = parseProxyHeader(encodeProxyHeaderV2({ family: "UNSPEC", tlvs: { noop: 3 } }));
    expect(r.status === "done" && r.header.tlvs.noop).toBe(3);
  });
});

describe("encoder refuses what it cannot represent", () => {
  test.each<[string, () => Buffer]>([
    ["TCP4 without addresses", () => encodeProxyHeaderV2({ family: "TCP4" })],
    ["IPv6 text for TCP4", () => encodeProxyHeaderV2({ family: "TCP4", source: { address: "::1", port: 1 }, destination: dst })],
    ["leading zero", () => encodeProxyHeaderV1({ family: "TCP4", source: { address: "01.2.3.4", port: 1 }, destination: dst })],
    ["port 65536", () => encodeProxyHeaderV1({ family: "TCP4", source: { ...src, port: 65536 }, destination: dst })],
    ["fractional port", () => encodeProxyHeaderV2({ family: "TCP4", source: { ...src, port: 1.5 }, destination: dst })],
    ["UNIX path of 109 bytes", () => encodeProxyHeaderV2({ family: "UNIX", unixSource: "x".repeat(109), unixDestination: "" })],
    ["UNIX path with NUL", () => encodeProxyHeaderV2({ family: "UNIX", unixSource: "a\0b", unixDestination: "" })],
    ["unique id of 129 bytes", () => encodeProxyHeaderV2({ family: "UNSPEC", tlvs: { uniqueId: Buffer.alloc(129) } })],
    ["TLV over 65535 bytes", () => encodeProxyHeaderV2({ family: "UNSPEC", tlvs: { alpn: Buffer.alloc(65536) } })],
    ["header over 65551 bytes", () => encodeProxyHeaderV2({ family: "UNSPEC", tlvs: { alpn: Buffer.alloc(65535), authority: "x" } })],
    ["padTo below the header", () => encodeProxyHeaderV2({ family: "UNSPEC" }, { padTo: 18 })],
  ])("%s", (_name, run) => {
    expect(run).toThrow(ProxyEncodeError);
  });
});
