import { DmarcCheckRequest, Event, MailRecord, OcspWatchRequest, SpfCheckRequest } from "@postern/proto";
import { DecodeError } from "./errors";

/** Bytes on the wire <-> typed message. decode() throws DecodeError, naming `subject` when given. */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array, subject?: string): T;
}

/** The encode/decode pair every ts-proto message object has. */
export interface ProtoMessageFns<T> {
  encode(value: T): { finish(): Uint8Array };
  decode(bytes: Uint8Array): T;
}

/** Wraps a ts-proto message (MailRecord, Event, ...) as a Codec; `type` names it in DecodeError. */
export function protoCodec<T>(fns: ProtoMessageFns<T>, type = "message"): Codec<T> {
  return {
    encode: (value) => fns.encode(value).finish(),
    decode: (bytes, subject) => {
      try {
        return fns.decode(bytes);
      } catch (err) {
        throw new DecodeError(type, bytes.byteLength, subject, { cause: err });
      }
    },
  };
}

export const codecs: {
  mail: Codec<MailRecord>;
  event: Codec<Event>;
  spfCheck: Codec<SpfCheckRequest>;
  dmarcCheck: Codec<DmarcCheckRequest>;
  ocspWatch: Codec<OcspWatchRequest>;
} = {
  mail: protoCodec(MailRecord, "MailRecord"),
  event: protoCodec(Event, "Event"),
  spfCheck: protoCodec(SpfCheckRequest, "SpfCheckRequest"),
  dmarcCheck: protoCodec(DmarcCheckRequest, "DmarcCheckRequest"),
  ocspWatch: protoCodec(OcspWatchRequest, "OcspWatchRequest"),
};
