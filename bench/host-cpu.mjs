// The machine's CPU time between two readings of /proc/stat, above all "steal": time the hypervisor gave
// to other guests while this VM's vCPUs were ready to run. On this shared VM it moves the paced SPF p99 and
// the pipeline rates more than any change in the code does, so the benchmarks print it next to their
// figures (a run with high steal measured the host, not Postern).
import { readFileSync } from "node:fs";

/** The "cpu" line of /proc/stat: [user, nice, system, idle, iowait, irq, softirq, steal], or undefined off Linux. */
export function cpuTicks() {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0];
    const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
    return fields.length === 8 && fields.every(Number.isFinite) ? fields : undefined;
  } catch {
    return undefined;
  }
}

/** Shares (%) of the machine's CPU time since `before`: busy (user+nice+system+irq+softirq), idle (with iowait), steal. */
export function cpuShares(before, after = cpuTicks()) {
  if (!before || !after) return undefined;
  const d = after.map((v, i) => v - before[i]);
  const total = d.reduce((a, b) => a + b, 0);
  if (total <= 0) return undefined;
  const pct = (v) => (100 * v) / total;
  return { busy: pct(d[0] + d[1] + d[2] + d[5] + d[6]), idle: pct(d[3] + d[4]), steal: pct(d[7]) };
}

/** "host steal 3.6 %, busy 38 %" (empty when /proc/stat could not be read). */
export function formatShares(shares) {
  return shares ? `host steal ${shares.steal.toFixed(1)} %, busy ${shares.busy.toFixed(0)} %` : "";
}
