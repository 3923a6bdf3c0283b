/**
 * @postern/dns/testing: helpers for tests that run real DNS servers on loopback. Test-only:
 * exported under the "@postern/source" condition alone (jest and the typecheck resolve it;
 * nothing is built to dist for it).
 */
export { nsdConf, type NsdZone } from "./nsd";
