/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), RFC 4960 appendix B,
 * as PP2_TYPE_CRC32C requires. Node 20 has no built-in, so a 256-entry table.
 */

const TABLE: Uint32Array = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Running state before any byte; finish with crc32cFinish. */
export const CRC32C_INIT = 0xffffffff;

/** Feeds bytes [start, end) of buf into a running CRC state. */
export function crc32cUpdate(state: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = state;
  for (let i = start; i < end; i++) c = TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

export function crc32cFinish(state: number): number {
  return (state ^ 0xffffffff) >>> 0;
}

/** CRC-32C of a whole buffer; crc32c("123456789") is 0xE3069283. */
export function crc32c(buf: Uint8Array): number {
  return crc32cFinish(crc32cUpdate(CRC32C_INIT, buf));
}

const ZEROS = new Uint8Array(4);

/** CRC-32C of a v2 header computed as if its 4-byte CRC field at `fieldOffset` were zero. */
export function crc32cWithZeroedField(header: Uint8Array, fieldOffset: number): number {
  let c = crc32cUpdate(CRC32C_INIT, header, 0, fieldOffset);
  c = crc32cUpdate(c, ZEROS);
  c = crc32cUpdate(c, header, fieldOffset + 4);
  return crc32cFinish(c);
}
