/**
 * ocsp-refresher: keeps an OCSP staple for every certificate the edges serve.
 *
 * Edges announce certificate chains on postern.v1.ocsp.watch (queue group ocsp-refresher);
 * the set lives in KV ocsp-certs. Each certificate is fetched from its AIA responder (or
 * responder_override_url) over HTTP POST with a deadline and a size cap, verified with
 * @postern/ocsp, and a good or revoked answer is stored in KV ocsp-staples, pushed to the
 * edges with EdgeCallback.PutStaple and optionally written to <staple_file_dir>/<cert_id>.der
 * (temporary file + rename). It is refreshed at refresh_fraction of its validity (earlier when
 * the signer certificate expires first) and retried with exponential backoff; a held staple is
 * never replaced by a response that fails verification, and is deleted once its nextUpdate
 * passes. ocsp:refresh and ocsp:revoked events go to stream EVENTS. Several instances share the
 * work: a compare-and-set lease on the KV revision gives each certificate to one of them.
 * KV layout, lease and what the edge serves: docs/adr/0005-ocsp-stapling.md.
 *
 * SECURITY: watch requests and OCSP responses are untrusted (see watch.ts and @postern/ocsp);
 * fetches follow no redirects and stop at max_response_bytes and fetch_timeout_ms.
 *
 * DIAGNOSTICS: log events, metrics and event names are listed in diagnostics.ts; failure codes
 * (OcspErrorCode from @postern/ocsp, FetchErrorCode, POSTERN_OCSP_STATUS_UNKNOWN) are logged
 * and kept in the certificate's KV record as last_error.
 */
export { configSchema, ocspRefresherConfigSchema, type OcspRefresherConfig, type RefresherSettings } from "./config";
export { startOcspRefresher, type RefresherOptions } from "./service";
export { eventNames, logEvents } from "./diagnostics";
export { FetchError, FetchErrorCode } from "./errors";
export { fetchOcsp, type FetchOptions, type OcspFetcher } from "./fetch";
export { type CertRecord, type StapleEnvelope, certRecordSchema, stapleEnvelopeSchema } from "./records";
