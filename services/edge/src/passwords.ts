/**
 * Password hashes for SMTP AUTH (auth_passwords_file, auth_redis_hash).
 *
 * Format (one string, no spaces): `$scrypt$<N>$<r>$<p>$<salt>$<hash>` with
 * salt and hash in base64 (RFC 4648, padding optional): node:crypto scrypt
 * (RFC 7914) of the UTF-8 password with cost N (a power of two, 1024..2^20),
 * block size r (1..32), parallelism p (1..16), a salt of 8..64 octets and a
 * derived key of 16..64 octets. hashPassword() writes N=16384, r=8, p=1, a
 * 16-octet random salt and a 32-octet key.
 *
 * auth_passwords_file: one `user:hash` per line; blank lines and lines
 * starting with "#" are ignored; the user is everything before the first ":"
 * and compared exactly (case-sensitive). The file is re-read when it changes.
 *
 * SECURITY: the comparison is timingSafeEqual; an unknown user or a malformed
 * hash costs one scrypt with the default parameters too, so timing does not
 * tell whether a user exists.
 */
import { randomBytes, scrypt as scryptCb, type ScryptOptions, timingSafeEqual } from "node:crypto";
import { type Stats } from "node:fs";
import { readFile, stat } from "node:fs/promises";

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err === null ? resolve(key) : reject(err))));

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}
const defaults: ScryptParams = { N: 16384, r: 8, p: 1 };
const maxmem = ({ N, r, p }: ScryptParams): number => 128 * N * r * p + 128 * r * 2 * 1024 + 1024 * 1024;

export interface ParsedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const int = (s: string | undefined): number => (s !== undefined && /^[1-9][0-9]{0,7}$/.test(s) ? Number(s) : NaN);
const b64 = (s: string | undefined): Buffer | null => (s !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(s) ? Buffer.from(s, "base64") : null);

/** The parts of a `$scrypt$...` string, or null when it is malformed or its parameters are out of range. */
export function parsePasswordHash(encoded: string): ParsedHash | null {
  const f = encoded.split("$");
  if (f.length !== 7 || f[0] !== "" || f[1] !== "scrypt") return null;
  const N = int(f[2]);
  const r = int(f[3]);
  const p = int(f[4]);
  const salt = b64(f[5]);
  const hash = b64(f[6]);
  if (!(N >= 1024 && N <= 1 << 20 && (N & (N - 1)) === 0) || !(r >= 1 && r <= 32) || !(p >= 1 && p <= 16)) return null;
  if (salt === null || salt.length < 8 || salt.length > 64 || hash === null || hash.length < 16 || hash.length > 64) return null;
  return { N, r, p, salt, hash };
}

/** A new `$scrypt$N$r$p$salt$hash` string for `password`. */
export async function hashPassword(password: string, params: ScryptParams = defaults): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, { ...params, maxmem: maxmem(params) });
  return `$scrypt$${params.N}$${params.r}$${params.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

const dummy: ParsedHash = { ...defaults, salt: Buffer.alloc(16), hash: Buffer.alloc(32) };

/** True when `password` matches `encoded`; false for a mismatch, a malformed hash or undefined (unknown user). */
export async function verifyPassword(password: string, encoded: string | undefined): Promise<boolean> {
  const parsed = encoded === undefined ? null : parsePasswordHash(encoded);
  const h = parsed ?? dummy;
  const key = await scrypt(password, h.salt, h.hash.length, { N: h.N, r: h.r, p: h.p, maxmem: maxmem(h) });
  return timingSafeEqual(key, h.hash) && parsed !== null;
}

const stamp = (s: Stats): string => `${s.ino}:${s.size}:${s.mtimeMs}`;

/** The `user:hash` lines of a file, re-read when the file changes (checked at each lookup). */
export class PasswordFile {
  private stamp = "";
  private entries = new Map<string, string>();

  constructor(readonly path: string) {}

  /** The hash for `user`, or undefined. Throws when the file cannot be read and was never read. */
  async lookup(user: string): Promise<string | undefined> {
    try {
      const s = await stat(this.path);
      if (stamp(s) !== this.stamp) {
        this.entries = parsePasswordFile(await readFile(this.path, "utf8"));
        this.stamp = stamp(s);
      }
    } catch (err) {
      if (this.stamp === "") throw err;
    }
    return this.entries.get(user);
  }
}

export function parsePasswordFile(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const i = line.indexOf(":");
    if (i <= 0) continue;
    m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}
