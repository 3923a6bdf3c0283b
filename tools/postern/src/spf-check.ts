/**
 * `postern spf check <ip> <sender> [helo] [--server HOST:PORT]`: Spf.Check on
 * the spf service (the ${lookup spf} equivalent). Prints the result, domain,
 * explanation and Received-SPF. Exit 0 whatever the SPF result; 2 for usage
 * and connection errors.
 */
import { isIP } from "node:net";
import { parseArgs } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { SpfCheckRequest, SpfClient, spfResultToJSON, type SpfVerdict } from "@postern/proto";
import { clientCredentials, unaryCall } from "@postern/service-kit";
import { cliChannelOptions, cliToken, TOKEN_USAGE } from "./grpc-client";

export const SPF_CHECK_USAGE = `  postern spf check IP SENDER [HELO] [--server HOST:PORT] [--helo-identity] [--timeout SECONDS]
                    [--tls-ca FILE] [--tls-cert FILE] [--tls-key FILE] [--token-file FILE]
      SPF verdict for a client address and MAIL FROM (Spf.Check on the spf service; default
      server $POSTERN_SPF_ADDRESS or 127.0.0.1:50052). SENDER "" checks postmaster@HELO.
      A server with spf.grpc.auth_token wants the same token: ${TOKEN_USAGE}.
`;

interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_SECONDS = 10;

/** "SPF_RESULT_PASS" → "pass". */
function resultName(verdict: SpfVerdict): string {
  return spfResultToJSON(verdict.result).replace(/^SPF_RESULT_/, "").toLowerCase();
}

export function formatSpfVerdict(verdict: SpfVerdict): string[] {
  const lines = [`result:       ${resultName(verdict)}`, `domain:       ${verdict.domain}`, `identity:     ${verdict.identity}`];
  if (verdict.explanation) lines.push(`explanation:  ${verdict.explanation}`);
  if (verdict.smtpComment && verdict.smtpComment !== verdict.explanation) lines.push(`comment:      ${verdict.smtpComment}`);
  lines.push(`Received-SPF: ${verdict.receivedSpf}`);
  return lines;
}

function usage(io: Io, problem: string): number {
  io.err(`postern: ${problem}\nusage:\n${SPF_CHECK_USAGE}`);
  return 2;
}

/** Runs `spf check` with the arguments after "spf check"; resolves with the exit code. */
export async function spfCheck(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        server: { type: "string" },
        "helo-identity": { type: "boolean" },
        timeout: { type: "string" },
        "tls-ca": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "token-file": { type: "string" },
      },
    });
  } catch (err) {
    return usage(io, (err as Error).message);
  }
  const { values, positionals } = parsed;
  const [ip, sender, helo = ""] = positionals;
  if (ip === undefined || sender === undefined || positionals.length > 3) return usage(io, "spf check needs IP SENDER [HELO]");
  if (isIP(ip) === 0) return usage(io, `not an IPv4 or IPv6 address: ${JSON.stringify(ip)}`);
  const timeout = values.timeout ?? String(DEFAULT_TIMEOUT_SECONDS);
  if (!/^\d+$/.test(timeout) || Number(timeout) === 0) return usage(io, `--timeout must be a positive integer, got ${JSON.stringify(timeout)}`);

  const server = values.server ?? io.env.POSTERN_SPF_ADDRESS ?? "127.0.0.1:50052";
  const tls = values["tls-ca"] || values["tls-cert"] ? { ca_file: values["tls-ca"], cert_file: values["tls-cert"], key_file: values["tls-key"] } : undefined;
  const token = cliToken(values["token-file"], io.env);
  if ("error" in token) return usage(io, token.error);
  const client = new SpfClient(server, clientCredentials(tls), cliChannelOptions(token.token));
  try {
    const request = SpfCheckRequest.fromPartial({ ip, sender, helo, checkHelo: values["helo-identity"] ?? false });
    const verdict = await unaryCall(client.check.bind(client), request, Number(timeout) * 1000);
    for (const line of formatSpfVerdict(verdict)) io.out(line);
    return 0;
  } catch (err) {
    const e = err as Partial<grpc.ServiceError>;
    io.err(`postern: spf check at ${server} failed: ${e.code === undefined ? String(err) : `${grpc.status[e.code]}: ${e.details ?? ""}`}`);
    return 2;
  } finally {
    client.close();
  }
}
