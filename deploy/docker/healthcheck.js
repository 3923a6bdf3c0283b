// Docker HEALTHCHECK: GET /healthz on the service's HTTP port (HEALTHCHECK_PORT).
// /healthz turns 503 as soon as a drain begins, so an orchestrator that watches
// health stops sending new work; exit 0 only on 200.
"use strict";
const http = require("node:http");

const port = Number(process.env.HEALTHCHECK_PORT || "0");
if (!port) {
  process.stderr.write("healthcheck: HEALTHCHECK_PORT is not set\n");
  process.exit(1);
}
const req = http.get({ host: "127.0.0.1", port, path: "/healthz", timeout: 2500 }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
req.on("timeout", () => req.destroy(new Error("timeout")));
req.on("error", (err) => {
  process.stderr.write(`healthcheck: ${err.message}\n`);
  process.exit(1);
});
