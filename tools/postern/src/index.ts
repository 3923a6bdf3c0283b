/**
 * postern: the operator's command line. `postern events tail` follows the
 * event stream of delivery-events; `postern config check` validates a stack
 * configuration file for every service.
 */
export { runCli, USAGE, type CliIo } from "./cli";
export { formatEventLine } from "./format";
export { checkConfig, serviceSchemas } from "./config-check";
export { tailEvents, type TailOptions } from "./events-tail";
