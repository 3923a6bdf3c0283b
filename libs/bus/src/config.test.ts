import { natsConfigSchema } from "./config";

function issues(raw: unknown): Array<{ path: string; message: string }> {
  const r = natsConfigSchema.safeParse(raw);
  if (r.success) return [];
  return r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

describe("natsConfigSchema", () => {
  it("fills every default from {}", () => {
    expect(natsConfigSchema.parse({})).toEqual({
      servers: ["nats://127.0.0.1:4222"],
      reconnect_wait_ms: 1000,
      max_reconnect_attempts: -1,
      jetstream: {
        mail: { storage: "file", replicas: 1, max_age_seconds: 604800, max_bytes: -1 },
        events: { storage: "file", replicas: 1, max_age_seconds: 604800, max_bytes: -1 },
        spool: { storage: "file", replicas: 1, max_bytes: -1, ttl_seconds: 604800 },
        kv: { storage: "file", replicas: 1 },
      },
    });
  });

  it("keeps nested defaults next to a partial section", () => {
    const c = natsConfigSchema.parse({ jetstream: { mail: { storage: "memory" } } });
    expect(c.jetstream.mail).toEqual({ storage: "memory", replicas: 1, max_age_seconds: 604800, max_bytes: -1 });
    expect(c.jetstream.kv).toEqual({ storage: "file", replicas: 1 });
  });

  const servers: Array<{ name: string; in: unknown; want: string[] }> = [
    { name: "array", in: ["nats://a:4222", "nats://b:4222"], want: ["nats://a:4222", "nats://b:4222"] },
    { name: "comma list", in: "nats://a:4222, nats://b:4222,", want: ["nats://a:4222", "nats://b:4222"] },
    { name: "single string", in: "tls://nats.example:4443", want: ["tls://nats.example:4443"] },
    { name: "credentials and IPv6", in: ["nats://u:p@[::1]:4222"], want: ["nats://u:p@[::1]:4222"] },
    { name: "no port", in: "nats://nats", want: ["nats://nats"] },
  ];
  it.each(servers)("accepts servers as $name", (c) => {
    expect(natsConfigSchema.parse({ servers: c.in }).servers).toEqual(c.want);
  });

  const bad: Array<{ name: string; in: unknown; wantPath: string; wantMessage: RegExp }> = [
    { name: "http URL", in: { servers: ["http://x:4222"] }, wantPath: "servers.0", wantMessage: /nats:\/\/ or tls:\/\/ URL/ },
    { name: "bare host:port", in: { servers: "127.0.0.1:4222" }, wantPath: "servers.0", wantMessage: /nats:\/\/ or tls:\/\/ URL/ },
    { name: "second entry", in: { servers: "nats://a:4222,redis://b" }, wantPath: "servers.1", wantMessage: /nats:\/\/ or tls:\/\/ URL/ },
    { name: "path", in: { servers: ["nats://a:4222/x"] }, wantPath: "servers.0", wantMessage: /no path/ },
    { name: "port out of range", in: { servers: ["nats://a:99999"] }, wantPath: "servers.0", wantMessage: /nats:\/\// },
    { name: "empty list", in: { servers: "" }, wantPath: "servers", wantMessage: /at least one/ },
    { name: "mixed schemes", in: { servers: ["nats://a", "tls://b"] }, wantPath: "servers", wantMessage: /mixes/ },
    { name: "pass without user", in: { pass: "p" }, wantPath: "user", wantMessage: /required when pass/ },
    { name: "token and user", in: { user: "u", token: "t" }, wantPath: "token", wantMessage: /either token/ },
    { name: "unknown key (typo)", in: { reconect_wait_ms: 5 }, wantPath: "", wantMessage: /reconect_wait_ms/ },
    { name: "replicas 6", in: { jetstream: { mail: { replicas: 6 } } }, wantPath: "jetstream.mail.replicas", wantMessage: /5/ },
    { name: "storage disk", in: { jetstream: { kv: { storage: "disk" } } }, wantPath: "jetstream.kv.storage", wantMessage: /file|memory/ },
    { name: "max_bytes 0", in: { jetstream: { spool: { max_bytes: 0 } } }, wantPath: "jetstream.spool.max_bytes", wantMessage: /-1/ },
    { name: "negative max_age", in: { jetstream: { events: { max_age_seconds: -1 } } }, wantPath: "jetstream.events.max_age_seconds", wantMessage: /0/ },
    { name: "max_reconnect_attempts -2", in: { max_reconnect_attempts: -2 }, wantPath: "max_reconnect_attempts", wantMessage: /-1/ },
    { name: "cert without key", in: { tls: { cert_file: "c.pem" } }, wantPath: "tls.key_file", wantMessage: /go together/ },
  ];
  it.each(bad)("rejects $name at the option's path", (c) => {
    const got = issues(c.in);
    expect(got.length).toBeGreaterThan(0);
    expect(got[0]?.path).toBe(c.wantPath);
    expect(got[0]?.message).toMatch(c.wantMessage);
  });

  it("never echoes a server URL (it may hold a password)", () => {
    const got = issues({ servers: ["http://user:s3cret@x:4222"] });
    expect(JSON.stringify(got)).not.toContain("s3cret");
  });
});
