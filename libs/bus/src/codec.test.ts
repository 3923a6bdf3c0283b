import { DsnRet, Event, MailRecord } from "@postern/proto";
import { codecs, protoCodec } from "./codec";
import { BusError, DecodeError } from "./errors";

const mail = MailRecord.fromPartial({
  messageId: "1abcDE-000001-XY",
  receivedAt: new Date("2025-01-02T03:04:05.678Z"),
  sender: "alice@example.org",
  recipients: [
    { address: "bob@example.com", notify: ["SUCCESS", "FAILURE"], orcpt: "rfc822;bob@example.com", index: 0 },
    { address: "carol@example.net", index: 1 },
  ],
  dsnRet: DsnRet.DSN_RET_HDRS,
  smtputf8: true,
  bodyType: "8BITMIME",
  receivedBy: "edge-0",
  attempt: 2,
});

describe("codecs", () => {
  it("round-trips a MailRecord", () => {
    const bytes = codecs.mail.encode(mail);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(codecs.mail.decode(bytes)).toEqual(mail);
  });

  it("round-trips an Event with attributes", () => {
    const event = Event.fromPartial({ id: "e1", name: "msg:delivery", time: new Date(0), deliveryPort: 25, attributes: { k: "v" } });
    expect(codecs.event.decode(codecs.event.encode(event))).toEqual(event);
  });

  it("decodes empty bytes as the default message", () => {
    expect(codecs.mail.decode(new Uint8Array())).toEqual(MailRecord.fromPartial({}));
  });

  const bad: Array<{ name: string; bytes: Uint8Array }> = [
    { name: "truncated length-delimited field", bytes: Uint8Array.of(0x0a, 0x05, 0x61) },
    { name: "invalid wire type 7", bytes: Uint8Array.of(0x0f, 0x00) },
    { name: "unterminated varint", bytes: Uint8Array.of(0x08, 0xff, 0xff, 0xff) },
  ];
  it.each(bad)("turns $name into DecodeError naming the subject", ({ bytes }) => {
    let caught: unknown;
    try {
      codecs.mail.decode(bytes, "postern.v1.mail.queued");
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DecodeError);
    expect(caught).toBeInstanceOf(BusError);
    const err = caught as DecodeError;
    expect(err.name).toBe("DecodeError");
    expect(err.code).toBe("POSTERN_BUS_DECODE");
    expect(err.subject).toBe("postern.v1.mail.queued");
    expect(err.type).toBe("MailRecord");
    expect(err.byteLength).toBe(bytes.byteLength);
    expect(err.message).toContain("cannot decode MailRecord");
    expect(err.message).toContain("from postern.v1.mail.queued");
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("leaves the subject out when none is given", () => {
    const codec = protoCodec(MailRecord);
    expect(() => codec.decode(Uint8Array.of(0x0f))).toThrow(expect.objectContaining({ subject: undefined, type: "message" }) as Error);
  });
});
