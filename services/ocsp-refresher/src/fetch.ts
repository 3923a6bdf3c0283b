/**
 * OCSP over HTTP (RFC 6960 appendix A.1): one POST of application/ocsp-request, a 200 answer
 * read up to a byte cap, all within one deadline. No redirects, no keep-alive, no proxies.
 */
import http from "node:http";
import https from "node:https";
import { FetchError, FetchErrorCode } from "./errors";

export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
}

export type OcspFetcher = (url: string, request: Uint8Array, opts: FetchOptions) => Promise<Buffer>;

/** Resolves with the response body; rejects with FetchError. */
export const fetchOcsp: OcspFetcher = (url, request, opts) =>
  new Promise<Buffer>((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch (err) {
      reject(new FetchError(FetchErrorCode.Network, url, "not a URL", { cause: err }));
      return;
    }
    const client = target.protocol === "https:" ? https : target.protocol === "http:" ? http : undefined;
    if (client === undefined) {
      reject(new FetchError(FetchErrorCode.Network, url, `unsupported scheme ${target.protocol}`));
      return;
    }
    let settled = false;
    const fail = (err: FetchError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = client.request(target, {
      method: "POST",
      agent: false,
      headers: {
        "content-type": "application/ocsp-request",
        accept: "application/ocsp-response",
        "content-length": request.length,
        connection: "close",
      },
    });
    const timer = setTimeout(() => fail(new FetchError(FetchErrorCode.Timeout, url, `no complete answer within ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on("error", (err) => fail(new FetchError(FetchErrorCode.Network, url, err.message, { cause: err })));
    req.on("response", (res) => {
      if (res.statusCode !== 200) {
        fail(new FetchError(FetchErrorCode.HttpStatus, url, `HTTP ${res.statusCode ?? "?"}`));
        return;
      }
      const declared = Number(res.headers["content-length"] ?? "0");
      if (declared > opts.maxBytes) {
        fail(new FetchError(FetchErrorCode.TooLarge, url, `Content-Length ${declared} exceeds ${opts.maxBytes}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBytes) fail(new FetchError(FetchErrorCode.TooLarge, url, `body exceeds ${opts.maxBytes} bytes`));
        else chunks.push(chunk);
      });
      res.on("error", (err) => fail(new FetchError(FetchErrorCode.Network, url, err.message, { cause: err })));
      res.on("end", () => {
        if (!res.complete) fail(new FetchError(FetchErrorCode.Network, url, "connection closed before the end of the answer"));
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
    });
    req.end(request);
  });
