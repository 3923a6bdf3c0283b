/**
 * postern: the operator's command line. `postern events tail` follows the
 * event stream of delivery-events (filters, start time, durable position);
 * `postern events migrate` creates the Postgres sink's table; `postern
 * webhooks dlq list|replay` reads and replays the webhook dead-letter stream;
 * `postern config check` validates a stack configuration file for every service.
 */
export { runCli, USAGE, type CliIo } from "./cli";
export { formatEventLine } from "./format";
export { checkConfig, serviceSchemas } from "./config-check";
export { tailEvents, type TailOptions } from "./events-tail";
export { parseFilterArgs, parseSince, type TailFilter } from "./filter-args";
export { formatDeadLetter } from "./dlq";
