/** Escapes client bytes for logs: printable ASCII kept, the rest as \xNN. */
export function escapeBytes(bytes: Uint8Array, max = 200): string {
  let out = "";
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i++) {
    const b = bytes[i] as number;
    out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > max ? `${out}...` : out;
}
