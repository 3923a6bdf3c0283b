/**
 * `redis_servers` in Exim's syntax: a list (Exim list rules, or an array) of
 * `host[:port]/db/password` items, tried in order. db and password may be empty
 * (`127.0.0.1//`, `127.0.0.1/10/`, `[::1]:6380/0/secret`); the password is everything after
 * the second slash. `redis://[user:password@]host[:port][/db]` and `rediss://` (TLS) URLs are
 * accepted too. Note that in a `:`-separated string a port needs `<;` or a doubled colon
 * (`127.0.0.1::6380/0/`), as in Exim; arrays need neither. A string that is a single redis://
 * URL is taken whole.
 */
import { isIP } from "node:net";
import { HostlistConfigError } from "./errors";
import { type ListInput, type ListItem, listItems } from "./split";

export const DEFAULT_REDIS_PORT = 6379;

/** The connection part of ioredis's RedisOptions. */
export interface RedisServerOptions {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  /** present for rediss:// */
  readonly tls?: Record<string, never>;
}

export interface RedisServer {
  /** "127.0.0.1:6379/0", "[::1]:6380/2", "tls:redis.example:6380/0": for logs; never the password */
  readonly label: string;
  readonly options: RedisServerOptions;
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

type Parsed<T> = T | { readonly error: string };

function parsePort(text: string): Parsed<{ port: number }> {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65_535) return { error: `port must be 1-65535, not ${JSON.stringify(text)}` };
  return { port: Number(text) };
}

/** "host", "host:port", "[v6]", "[v6]:port", or a bare IPv6 address. */
function parseHostPort(text: string): Parsed<{ host: string; port: number }> {
  let host = text;
  let portText: string | undefined;
  const bracket = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracket !== null) {
    host = bracket[1] ?? "";
    portText = bracket[2];
    if (isIP(host) !== 6) return { error: "expected an IPv6 address inside [...]" };
  } else if (isIP(text) !== 6 && text.includes(":")) {
    host = text.slice(0, text.lastIndexOf(":"));
    portText = text.slice(text.lastIndexOf(":") + 1);
  }
  if (host === "") return { error: "no host" };
  if (isIP(host) === 0 && !HOST_NAME.test(host)) return { error: `not a host name or IP address: ${JSON.stringify(host)}` };
  if (portText === undefined) return { host, port: DEFAULT_REDIS_PORT };
  const port = parsePort(portText);
  return "error" in port ? port : { host, port: port.port };
}

function parseDb(text: string): Parsed<{ db: number }> {
  if (text === "") return { db: 0 };
  if (!/^\d{1,5}$/.test(text)) return { error: `database must be a number, not ${JSON.stringify(text)}` };
  return { db: Number(text) };
}

function label(o: RedisServerOptions): string {
  const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  return `${o.tls === undefined ? "" : "tls:"}${host}:${o.port}/${o.db}`;
}

function parseExim(item: string): Parsed<RedisServerOptions> {
  const first = item.indexOf("/");
  const second = first < 0 ? -1 : item.indexOf("/", first + 1);
  if (second < 0) return { error: "expected host[:port]/db/password (db and password may be empty: 127.0.0.1//)" };
  const hp = parseHostPort(item.slice(0, first));
  if ("error" in hp) return hp;
  const db = parseDb(item.slice(first + 1, second));
  if ("error" in db) return db;
  const password = item.slice(second + 1);
  return { host: hp.host, port: hp.port, db: db.db, ...(password === "" ? {} : { password }) };
}

function parseUrl(item: string): Parsed<RedisServerOptions> {
  let url: URL;
  try {
    url = new URL(item);
  } catch {
    return { error: "not a valid URL" };
  }
  if (url.search !== "" || url.hash !== "") return { error: "query strings and fragments are not supported" };
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (host === "") return { error: "no host" };
  const db = parseDb(url.pathname === "" || url.pathname === "/" ? "" : url.pathname.slice(1));
  if ("error" in db) return db;
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return {
    host,
    port: url.port === "" ? DEFAULT_REDIS_PORT : Number(url.port),
    db: db.db,
    ...(username === "" ? {} : { username }),
    ...(password === "" ? {} : { password }),
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
  };
}

/** The item with its password replaced by ***, for error messages. */
export function redactServer(item: string): string {
  if (/^rediss?:\/\//i.test(item)) return item.replace(/^(rediss?:\/\/)[^@/]*@/i, "$1***@");
  const first = item.indexOf("/");
  const second = first < 0 ? -1 : item.indexOf("/", first + 1);
  return second < 0 || second === item.length - 1 ? item : `${item.slice(0, second + 1)}***`;
}

/** Parses one redis_servers item. */
export function parseRedisServer(item: string): Parsed<RedisServer> {
  const options = /^rediss?:\/\//i.test(item) ? parseUrl(item) : parseExim(item);
  return "error" in options ? options : { label: label(options), options };
}

/**
 * The items of redis_servers. A string that is one redis:// URL is one item (its colons are
 * not separators); several URLs need an array or a `<;` / `<,` list.
 */
export function redisServerItems(list: ListInput): ListItem[] {
  if (typeof list === "string" && /^\s*rediss?:\/\/\S*\s*$/i.test(list)) return [{ text: list.trim(), position: 1 }];
  return listItems(list);
}

/** Parses redis_servers; throws HostlistConfigError naming the bad item (password redacted). An empty list is an error. */
export function parseRedisServers(list: ListInput): RedisServer[] {
  const items = redisServerItems(list);
  if (items.length === 0) throw new HostlistConfigError("", 0, "redis_servers is empty");
  return items.map(({ text, position }) => {
    const s = parseRedisServer(text);
    if ("error" in s) throw new HostlistConfigError(redactServer(text), position, s.error);
    return s;
  });
}
