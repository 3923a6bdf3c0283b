/**
 * @postern/testing — real servers and protocol fakes for tests (our `nst`).
 *
 * What it does: startNats() / startRedis() start nats-server (JetStream, temporary
 * store) and redis-server (no persistence) on 127.0.0.1 and a free port, in a
 * container through testcontainers when a container runtime answers, else from
 * the local binaries (apt-get install nats-server redis-server).
 * POSTERN_TEST_BACKEND=local|containers forces one way. startSmtpSink() is a
 * loopback SMTP/LMTP server that records what clients deliver and can be told to
 * defer or reject recipients. freePort() finds a free TCP port. startPostgres() starts
 * Postgres (image postgres:16, or the Debian binaries run as the `postgres` user when
 * this process is root: apt-get install postgresql) with psql()/queryJson() to read it.
 *
 * SECURITY: test-only. Servers listen on loopback without authentication; the
 * sink accepts any mail from anyone who can reach it. Never use in production.
 *
 * DIAGNOSTICS: the first server of each kind prints one stderr line per process,
 * e.g. `[postern/testing] nats via local-binary (nats-server 2.9.10): no Docker
 * engine: ...`; Backend.via and Backend.why say the same. A server that does not
 * start throws with the tail of its output; no container runtime and no binary
 * throws naming the packages to install. Local servers are stopped by stop(), and
 * also when the test process ends in any way (a guard process watches it).
 */
export { type Backend } from "./backend";
export { type NatsPlace, startNats, startRedis } from "./servers";
export { startPostgres, type PostgresBackend } from "./postgres";
export { freePort } from "./ports";
export { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from "./smtp-sink";
export { type SinkMessage } from "./smtp-session";
export { LogSink } from "./log-sink";
export { seededRandom } from "./random";
