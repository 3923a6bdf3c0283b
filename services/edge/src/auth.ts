/**
 * SMTP AUTH credentials for the submission listener: auth_passwords_file
 * first, then the Redis hash auth_redis_hash (HGET key user), both holding
 * the hashes described in passwords.ts.
 */
import { type PasswordFile, verifyPassword } from "./passwords";

export type AuthResult = "ok" | "invalid" | "tempfail";
export type Authenticator = (username: string, password: string) => Promise<AuthResult>;

export interface AuthSources {
  file?: PasswordFile;
  /** HGET key user; throws when no server answers */
  redis?: { hget(key: string, field: string): Promise<string | null>; key: string };
}

export function createAuthenticator(src: AuthSources): Authenticator {
  return async (username, password) => {
    let hash: string | undefined;
    try {
      hash = await src.file?.lookup(username);
      if (hash === undefined && src.redis !== undefined) hash = (await src.redis.hget(src.redis.key, username)) ?? undefined;
    } catch {
      return "tempfail";
    }
    return (await verifyPassword(password, hash)) ? "ok" : "invalid";
  };
}
