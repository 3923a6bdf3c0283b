import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import type { z } from "zod";
import { envOverrides, parseConfig } from "@postern/service-kit";
import { configSchema as edgeSchema } from "@postern/edge";
import { configSchema as spfSchema } from "@postern/spf";
import { configSchema as dmarcSchema } from "@postern/dmarc";
import { configSchema as outboundSchema } from "@postern/dane-outbound";
import { configSchema as ocspSchema } from "@postern/ocsp-refresher";
import { configSchema as eventsSchema } from "@postern/delivery-events";

/**
 * Issue #13, done-when 1: the deployment files are checked offline. Every
 * overlay renders and passes the Kubernetes and CRD schemas with unknown fields
 * refused (deploy/validate-k8s.mjs), the compose file passes docker-compose's
 * schema, the Dockerfile passes the linter, and the configuration the
 * manifests and the compose file give each service (file + environment, as the
 * container sees it) passes that service's own config schema.
 */
const run = promisify(execFile);
const repo = resolve(__dirname, "../..");
const validator = join(repo, "deploy/validate-k8s.mjs");
const bin = (name: string): string => join(repo, "node_modules/.bin", name);

const schemas: Record<string, z.ZodType> = {
  edge: edgeSchema,
  spf: spfSchema,
  dmarc: dmarcSchema,
  "dane-outbound": outboundSchema,
  "ocsp-refresher": ocspSchema,
  "delivery-events": eventsSchema,
};
const services = Object.keys(schemas);

interface Ref {
  name: string;
}
interface Container {
  args?: string[];
  envFrom?: Array<{ configMapRef?: Ref; secretRef?: Ref }>;
  env?: Array<{ name: string; value?: string }>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: { template?: { spec: { containers: Container[]; volumes?: Array<{ name: string; configMap?: Ref }> } } };
}

function render(dir: string): K8sObject[] {
  return JSON.parse(execFileSync("node", [validator, "--json", join(repo, dir)], { encoding: "utf8" })) as K8sObject[];
}

/** ENV of each Dockerfile stage, following FROM <stage> inheritance. */
function dockerfileStages(): Map<string, { env: Record<string, string>; cmd?: string }> {
  const stages = new Map<string, { env: Record<string, string>; cmd?: string }>();
  let current: { env: Record<string, string>; cmd?: string } | undefined;
  const text = readFileSync(join(repo, "deploy/docker/Dockerfile"), "utf8").replace(/\\\n/g, " ");
  for (const line of text.split("\n")) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      const parent = stages.get(from[1] as string);
      current = { env: { ...(parent?.env ?? {}) }, cmd: parent?.cmd };
      if (from[2]) stages.set(from[2], current);
      continue;
    }
    const env = /^ENV\s+(.*)$/.exec(line);
    if (env && current) for (const [, k, v] of (env[1] as string).matchAll(/(\w+)=(\S+)/g)) current.env[k as string] = v as string;
    const cmd = /^CMD\s+(.*)$/.exec(line);
    if (cmd && current) current.cmd = cmd[1];
  }
  return stages;
}

/** As service-kit merges the environment over the file: plain objects key by key, anything else replaces. */
function deepMerge(base: unknown, over: unknown): unknown {
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}

function configIssues(service: string, file: unknown, env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(schemas[service] as z.ZodType, deepMerge(file ?? {}, envOverrides(env)));
    return [];
  } catch (err) {
    return [`${service}: ${(err as Error).message}`];
  }
}

describe("deploy/validate-k8s.mjs", () => {
  it("renders and validates both overlays and the example Secrets", async () => {
    const { stdout } = await run("node", [validator], { cwd: repo });
    expect(stdout).toMatch(/^ok .*overlays\/dev: \d+ objects$/m);
    expect(stdout).toMatch(/^ok .*overlays\/production: \d+ objects$/m);
    expect(stdout).toMatch(/^ok .*secrets-example: \d+ objects$/m);
  }, 60_000);

  it("refuses unknown fields, wrong types, bad CRD fields and broken references", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-k8s-bad-"));
    try {
      writeFileSync(join(dir, "kustomization.yaml"), "resources: [bad.yaml]\n");
      writeFileSync(
        join(dir, "bad.yaml"),
        [
          "apiVersion: apps/v1",
          "kind: Deployment",
          "metadata: { name: w }",
          "spec:",
          '  replicas: "two"',
          "  selector: { matchLabels: { app: w } }",
          "  template:",
          "    metadata: { labels: { app: w } }",
          "    spec:",
          "      containers:",
          "        - { name: w, image: w, resourcez: {}, envFrom: [{ configMapRef: { name: missing } }] }",
          "---",
          "apiVersion: keda.sh/v1alpha1",
          "kind: ScaledObject",
          "metadata: { name: w }",
          "spec:",
          "  scaleTargetRef: { name: w }",
          "  maxReplicas: 3",
          "  triggers: [{ type: nats-jetstream, metadata: { natsServerMonitoringEndpoint: n, stream: MAIL, consumer: outbound, lagTreshold: '5' } }]",
          "---",
          "apiVersion: monitoring.coreos.com/v1",
          "kind: ServiceMonitor",
          "metadata: { name: w }",
          "spec: { selector: {}, endpoints: [{ port: http, intervall: 30s }] }",
          "",
        ].join("\n"),
      );
      const result = await run("node", [validator, dir]).then(
        () => ({ code: 0, stdout: "" }),
        (err: { code: number; stdout: string }) => err,
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toContain("Deployment/w: /spec/replicas must be integer");
      expect(result.stdout).toContain("Deployment/w: spec.template.spec.containers[0].resourcez: unknown field");
      expect(result.stdout).toContain("names ConfigMap missing, which is not rendered");
      expect(result.stdout).toContain("ScaledObject/w: /spec must NOT have additional properties (maxReplicas)");
      expect(result.stdout).toContain("(lagTreshold)");
      expect(result.stdout).toContain("ServiceMonitor/w: /spec/endpoints/0 must NOT have additional properties (intervall)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  // kustomize-lite stands in for kustomize; where a real one exists, both must agree exactly.
  const kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].find((p) => existsSync(p));
  const kustomizes = kubectl !== undefined && /Kustomize Version: v5/.test(execFileSync(kubectl, ["version", "--client"], { encoding: "utf8" }));
  (kustomizes ? it : it.skip)("renders exactly what `kubectl kustomize` renders (skipped without kubectl and kustomize v5)", () => {
    for (const dir of ["deploy/k8s/overlays/dev", "deploy/k8s/overlays/production", "deploy/k8s/secrets-example"]) {
      const theirs = parseAllDocuments(execFileSync(kubectl as string, ["kustomize", join(repo, dir)], { encoding: "utf8" })).map((d) => d.toJS() as unknown);
      expect(render(dir)).toEqual(theirs);
    }
  }, 60_000);
});

describe("configuration the manifests give each service", () => {
  const stages = dockerfileStages();

  it.each(["deploy/k8s/overlays/dev", "deploy/k8s/overlays/production"])("%s: every Deployment's file + env passes its service's schema", (dir) => {
    const objects = render(dir);
    const examples = render("deploy/k8s/secrets-example");
    const find = (kind: string, name: string): K8sObject | undefined => [...objects, ...examples].find((o) => o.kind === kind && o.metadata.name === name);
    const issues: string[] = [];
    const deployments = objects.filter((o) => o.kind === "Deployment");
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...services].sort());
    for (const d of deployments) {
      const service = d.metadata.name;
      const pod = d.spec?.template?.spec;
      const container = pod?.containers[0];
      // --config FILE from a ConfigMap volume mounted at /etc/postern. A container's args replace the image's
      // CMD (its ENTRYPOINT, tini, stays), so they must start the service as CMD does, then add the option.
      const cmd = JSON.parse(stages.get(service)?.cmd ?? "[]") as string[];
      expect(cmd).toEqual(["node", "dist/main.js"]);
      expect(container?.args).toEqual([...cmd, "--config", "/etc/postern/postern.yaml"]);
      const volume = pod?.volumes?.find((v) => v.name === "config");
      const configMap = find("ConfigMap", volume?.configMap?.name ?? "");
      const file = parseYaml(configMap?.data?.["postern.yaml"] ?? "") as unknown;
      // the environment: the image's ENV, then envFrom in order, then env
      const env: NodeJS.ProcessEnv = { ...stages.get(service)?.env };
      for (const from of container?.envFrom ?? []) {
        const isSecret = from.secretRef !== undefined;
        const source = find(isSecret ? "Secret" : "ConfigMap", (from.configMapRef ?? from.secretRef)?.name ?? "");
        if (source === undefined) continue; // optional and absent
        const data = source.stringData ?? Object.fromEntries(Object.entries(source.data ?? {}).map(([k, v]) => [k, isSecret ? Buffer.from(v, "base64").toString() : v]));
        Object.assign(env, data);
      }
      for (const e of container?.env ?? []) env[e.name] = e.value ?? "10.0.0.1"; // POD_IP from the downward API
      issues.push(...configIssues(service, file, env));
      if (dir.endsWith("production") && service === "edge") expect(env.POSTERN_EDGE__TLS_CERTIFICATE).toBe("/etc/postern-tls/tls.crt");
      if (dir.endsWith("production")) expect(env.POSTERN_NATS__JETSTREAM__MAIL__REPLICAS).toBe("3");
    }
    expect(issues).toEqual([]);
  }, 60_000);
});

describe("docker-compose.yml and the Dockerfile", () => {
  const compose = existsSync("/usr/bin/docker-compose") ? "/usr/bin/docker-compose" : undefined;

  it("docker-compose config -q accepts the compose file (Debian docker-compose, no engine needed)", async () => {
    if (compose === undefined) throw new Error("docker-compose is not installed: run scripts/bootstrap.sh (Debian package docker-compose)");
    await expect(run(compose, ["-f", join(repo, "docker-compose.yml"), "config", "-q"], { cwd: repo })).resolves.toBeDefined();
  }, 60_000);

  it("every Postern service is configured by environment only and its config passes the service's schema", async () => {
    if (compose === undefined) throw new Error("docker-compose is not installed: run scripts/bootstrap.sh (Debian package docker-compose)");
    const { stdout } = await run(compose, ["-f", join(repo, "docker-compose.yml"), "config"], { cwd: repo });
    const config = parseYaml(stdout) as { services: Record<string, { build?: { target?: string }; environment?: Record<string, string>; volumes?: unknown[]; read_only?: boolean; command?: unknown }> };
    const stages = dockerfileStages();
    const issues: string[] = [];
    for (const service of services) {
      const s = config.services[service];
      expect(s).toBeDefined();
      expect(s?.build?.target).toBe(service);
      expect(s?.read_only).toBe(true);
      expect(s?.command).toBeUndefined(); // the image's CMD: node dist/main.js
      expect(s?.environment?.POSTERN_CONFIG).toBeUndefined();
      // compose writes a literal $ as $$ in the file; the container sees one
      const env = Object.fromEntries(Object.entries(s?.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\$/g, "$")]));
      issues.push(...configIssues(service, undefined, { ...stages.get(service)?.env, ...env }));
    }
    expect(issues).toEqual([]);
    // HAProxy's fixed address is the edge's only PROXY peer
    expect(config.services.edge?.environment?.POSTERN_EDGE__HOSTS_PROXY).toContain("172.28.0.10");
  }, 60_000);

  it("dockerfile-utils lint passes, and each service has a target running node dist/main.js under tini as non-root", async () => {
    await expect(run(bin("dockerfile-utils"), ["lint", join(repo, "deploy/docker/Dockerfile")])).resolves.toBeDefined();
    const stages = dockerfileStages();
    for (const service of services) {
      expect(stages.get(service)?.cmd).toBe('["node", "dist/main.js"]');
      expect(stages.get(service)?.env.HEALTHCHECK_PORT).toMatch(/^91\d\d$/);
    }
    const text = readFileSync(join(repo, "deploy/docker/Dockerfile"), "utf8");
    expect(text).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    expect(text).toMatch(/^USER 1000:1000$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
  }, 60_000);
});

describe("metrics in the Grafana dashboard and the alert rules", () => {
  /** Every metric a prom-client constructor in libs/ and services/ declares, plus the default process metrics. */
  function declaredMetrics(): Set<string> {
    const names = new Set(["postern_process_start_time_seconds", "postern_process_resident_memory_bytes", "postern_process_cpu_seconds_total"]);
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir)) {
        const path = join(dir, entry);
        if (entry === "node_modules" || entry === "dist") continue;
        if (statSync(path).isDirectory()) walk(path);
        else if (entry.endsWith(".ts") && !entry.endsWith(".test.ts")) {
          for (const m of readFileSync(path, "utf8").matchAll(/name: "(postern_[a-z0-9_]+)"/g)) names.add(m[1] as string);
        }
      }
    };
    for (const root of ["libs", "services"]) walk(join(repo, root));
    return names;
  }

  /** postern_* names in PromQL, with histogram series suffixes removed. */
  const usedIn = (text: string): string[] => [...new Set([...text.matchAll(/\bpostern_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")))];

  it("uses only metric names the code declares", () => {
    const declared = declaredMetrics();
    const dashboard = readFileSync(join(repo, "deploy/k8s/grafana/postern.json"), "utf8");
    const parsed = JSON.parse(dashboard) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    expect(parsed.panels.length).toBeGreaterThan(5);
    const rules = readFileSync(join(repo, "deploy/k8s/overlays/production/monitoring.yaml"), "utf8");
    const used = [...usedIn(dashboard), ...usedIn(rules)];
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((name) => !declared.has(name))).toEqual([]);
    // the key metrics of the issue are on the dashboard
    for (const name of ["postern_edge_messages_total", "postern_spf_check_duration_seconds", "postern_outbound_deliveries_total", "postern_ocsp_staple_expiry_seconds"]) {
      expect(usedIn(dashboard)).toContain(name);
    }
    expect(dashboard).toContain('jetstream_consumer_num_pending{stream_name=\\"MAIL\\", consumer_name=\\"outbound\\"}');
  });
});
