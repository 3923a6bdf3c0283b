/** Secrets never logged (issue 14): a configuration full of secrets goes through the logger and none comes out. */
import { createLogger, isSecretKey, REDACTED, redactSecrets } from "./logger";
import { memoryDestination } from "./testlog";

const SECRETS = {
  grpcToken: "grpc-token-0123456789abcdef",
  redisPassword: "redis-pw-Zq8",
  natsPassword: "nats-pw-Xy7",
  webhookSecret: "whsec_6f1d0c2b9a",
  smtpPassword: "hunter2-smtp",
  initialResponse: "AHVzZXIAaHVudGVyMg==",
  pem: "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n",
  apiKey: "ak_live_51H",
  pgUrlPassword: "pg-pw-77",
};

const config = {
  log: { level: "info" },
  nats: { servers: [`nats://postern:${SECRETS.natsPassword}@127.0.0.1:4222`], credentials: SECRETS.natsPassword },
  edge: {
    hostname: "mx.example",
    redis_servers: [`redis://:${SECRETS.redisPassword}@10.0.0.5:6379/0`],
    grpc: { listen: "0.0.0.0:50051", auth_token: SECRETS.grpcToken, auth_token_file: "/run/secrets/grpc-token", tls: { cert_file: "/etc/postern/tls.crt", key_file: "/etc/postern/tls.key" } },
    auth_users: [{ username: "alice", password: SECRETS.smtpPassword }],
  },
  delivery_events: {
    webhooks: [{ name: "crm", url: "https://hooks.example/postern", secret: SECRETS.webhookSecret }],
    sinks: [{ kind: "postgres", url: `postgres://events:${SECRETS.pgUrlPassword}@db.internal/events` }],
  },
  tls: { private_key: SECRETS.pem, inline: SECRETS.pem },
  smtp: { auth: { mechanism: "PLAIN", initial_response: SECRETS.initialResponse } },
  headers: { Authorization: `Bearer ${SECRETS.grpcToken}`, apiKey: SECRETS.apiKey },
};

describe("logger redaction", () => {
  test("a configuration with secrets is logged without any of them", () => {
    const { destination, lines } = memoryDestination();
    const logger = createLogger({ name: "redact-test", destination });
    logger.info({ config }, "configuration loaded");
    logger.child({ token: SECRETS.grpcToken, peer: "10.0.0.9" }).warn({ password: SECRETS.smtpPassword, user: "alice" }, "auth failed");
    logger.child({ conn: 1 }).child({ apiKey: SECRETS.apiKey }).info("grandchild");
    logger.info({ list: [{ secret: SECRETS.webhookSecret }], url: `redis://u:${SECRETS.redisPassword}@h:1` }, "nested");
    const out = lines.map((l) => JSON.stringify(l)).join("\n");
    for (const [name, secret] of Object.entries(SECRETS)) {
      const probe = name === "pem" ? "MIGHAgEAMBMG" : secret;
      expect({ name, leaked: out.includes(probe) }).toEqual({ name, leaked: false });
    }
    // what is not secret is still there: where the secrets live, names, addresses
    for (const kept of ["/run/secrets/grpc-token", "/etc/postern/tls.key", "mx.example", "alice", "10.0.0.5:6379", "hooks.example", "10.0.0.9", "configuration loaded"]) {
      expect(out).toContain(kept);
    }
    expect(out).toContain(REDACTED);
  });

  test("the configuration object itself is left untouched", () => {
    const before = JSON.stringify(config);
    const redacted = redactSecrets(config);
    expect(JSON.stringify(config)).toBe(before);
    expect(redacted).not.toBe(config);
    const plain = { a: 1, b: ["x", { c: "y" }] };
    expect(redactSecrets(plain)).toBe(plain);
  });

  test("which keys count as secrets", () => {
    for (const k of ["password", "auth_token", "token", "secret", "private_key", "privateKey", "api_key", "Authorization", "smtpPassword", "initial_response", "credentials"]) {
      expect({ k, secret: isSecretKey(k) }).toEqual({ k, secret: true });
    }
    for (const k of ["auth_token_file", "key_file", "cert_file", "tokenizer", "bypass", "username", "passes", "secret_file"]) {
      expect({ k, secret: isSecretKey(k) }).toEqual({ k, secret: false });
    }
  });

  test("errors, buffers and deep objects pass through without failing", () => {
    const { destination, lines } = memoryDestination();
    const logger = createLogger({ name: "redact-test", destination });
    let deep: Record<string, unknown> = { password: "deep-secret" };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    const cyclic: Record<string, unknown> = { name: "c" };
    cyclic.self = cyclic;
    logger.error({ err: new Error("boom"), buf: Buffer.from("x"), deep, cyclic }, "odd shapes");
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines[0])).toContain("boom");
  });
});
