/**
 * Test support: the nsd.conf of the loopback DNS labs (libs/dns's lab.ts and the DANE lab in
 * tests/support/dane-lab.ts): authoritative only, IPv4 loopback on one port, every state file
 * in the lab's temp dir, no privileges dropped, no chroot, no remote control.
 */

/** One zone nsd serves: its name (no trailing dot) and its file, relative to `dir` or absolute. */
export interface NsdZone {
  readonly name: string;
  readonly file: string;
}

/** nsd.conf for a lab in `dir` answering on 127.0.0.1:`port`. */
export function nsdConf(dir: string, port: number, zones: readonly NsdZone[]): string {
  const zoneLines = zones.map((z) => `zone:\n  name: "${z.name}."\n  zonefile: "${z.file}"\n`).join("");
  return `server:
  ip-address: 127.0.0.1@${port}
  port: ${port}
  do-ip6: no
  username: ""
  chroot: ""
  database: ""
  zonesdir: "${dir}"
  zonelistfile: "${dir}/zone.list"
  xfrdfile: "${dir}/xfrd.state"
  xfrdir: "${dir}"
  pidfile: "${dir}/nsd.pid"
  server-count: 1
  hide-version: yes
  verbosity: 0
  reuseport: no
remote-control:
  control-enable: no
${zoneLines}`;
}
