/**
 * What every `postern` command that calls a service over gRPC shares: the token (never from the
 * command line, where `ps` shows it) and the channel options the services use among themselves
 * (HTTP/2 keepalive, so `events tail` notices a server gone without FIN/RST; the token interceptor).
 */
import type * as grpc from "@grpc/grpc-js";
import { clientChannelOptions, readAuthToken } from "@postern/service-kit";

export const TOKEN_USAGE = `--token-file FILE, or
      $POSTERN_GRPC_TOKEN_FILE, or $POSTERN_GRPC_TOKEN (never on the command line: ps shows it)`;

/** The token from --token-file, else $POSTERN_GRPC_TOKEN_FILE, else $POSTERN_GRPC_TOKEN; undefined when none is set. */
export function cliToken(tokenFile: string | undefined, env: NodeJS.ProcessEnv): { token: string | undefined } | { error: string } {
  try {
    const file = tokenFile ?? env.POSTERN_GRPC_TOKEN_FILE;
    return { token: readAuthToken(file !== undefined ? { auth_token_file: file } : { auth_token: env.POSTERN_GRPC_TOKEN }) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Channel options for a CLI call: the services' keepalive defaults and, when given, the token. */
export function cliChannelOptions(token: string | undefined): Partial<grpc.ClientOptions> {
  return clientChannelOptions(undefined, token === undefined ? undefined : { auth_token: token });
}
