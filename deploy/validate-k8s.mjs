#!/usr/bin/env node
// Offline validation of deploy/k8s (no cluster, no kubeconform here):
//  1. renders each overlay with deploy/kustomize-lite.mjs (a kustomize subset,
//     byte-for-byte equal to `kubectl kustomize` on these overlays; see tests/deploy),
//  2. validates every built-in object with the Kubernetes OpenAPI schemas bundled
//     in kubernetes-models (types, enums, required fields),
//  3. rejects unknown fields, which those schemas let through, by walking each
//     object against the model's declared properties (its .d.ts files),
//  4. validates the CRDs (KEDA ScaledObject, ServiceMonitor, PrometheusRule)
//     with ajv against the bundled schemas in deploy/k8s/schemas,
//  5. checks what ties objects together: selectors match pod labels, named
//     ports exist, referenced ConfigMaps/Secrets exist (or are optional),
//     scale targets exist, every container has requests and limits and runs
//     as non-root on a read-only root filesystem.
// Usage: node deploy/validate-k8s.mjs [DIR...]      (default: both overlays + secrets-example)
//        node deploy/validate-k8s.mjs --print DIR   (the rendered YAML, for kubectl apply -f -)
//        node deploy/validate-k8s.mjs --json DIR    (the rendered objects as a JSON array)
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stringify } from "yaml";
import { build, forEachPodSpec } from "./kustomize-lite.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
export const DEFAULT_TARGETS = ["k8s/overlays/dev", "k8s/overlays/production", "k8s/secrets-example"].map((d) => join(here, d));
const CRD_GROUPS = new Set(["keda.sh", "monitoring.coreos.com"]);

// ---- kubernetes-models: schema validation and declared properties ---------------------

const modelsRoot = dirname(realpathSync(require.resolve("kubernetes-models/package.json")));

function modelPath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : [undefined, apiVersion];
  return join(modelsRoot, ...(group ? [group, version] : [version]), `${kind}.js`);
}

async function schemaErrors(o) {
  const file = modelPath(o.apiVersion, o.kind);
  if (!existsSync(file)) return [`no Kubernetes schema for ${o.apiVersion} ${o.kind}`];
  const mod = await import(pathToFileURL(file).href);
  const Model = mod[o.kind];
  try {
    new Model(o).validate();
    return [];
  } catch (err) {
    const details = Array.isArray(err.errors) ? err.errors.map((e) => `${e.instancePath || "/"} ${e.message}`) : [String(err.message ?? err)];
    return details;
  }
}

/** Resolves a module specifier from a .d.ts file to the .d.ts it names. */
function resolveDts(fromFile, spec) {
  if (spec.startsWith(".")) return resolve(dirname(fromFile), spec.replace(/\.js$/, "") + ".d.ts");
  const parts = spec.split("/");
  const pkg = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
  const sub = parts.slice(spec.startsWith("@") ? 2 : 1).join("/");
  for (let dir = dirname(fromFile); ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", pkg);
    if (existsSync(candidate)) return join(realpathSync(candidate), `${sub}.d.ts`);
    if (dirname(dir) === dir) throw new Error(`cannot resolve ${spec} from ${fromFile}`);
  }
}

const dtsCache = new Map();
/** The first interface of a model's .d.ts: property name -> { required, type (text) }, plus its imports. */
function readDts(file) {
  let info = dtsCache.get(file);
  if (info) return info;
  const text = readFileSync(file, "utf8");
  const imports = new Map();
  for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    for (const name of m[1].split(",").map((s) => s.trim())) imports.set(name, m[2]);
  }
  const start = text.search(/^export interface I\w+/m);
  let props;
  if (start >= 0) {
    props = new Map();
    const body = text.slice(start, text.indexOf("\n}", start));
    for (const m of body.matchAll(/^ {4}"([^"]+)"(\?)?: (.+?)(;)?$/gm)) props.set(m[1], { required: m[2] !== "?", type: m[3] });
  }
  info = { file, imports, props };
  dtsCache.set(file, info);
  return info;
}

/** Where a property's type leads: an interface to walk (file), an array of one, or nothing to check. */
function typeTarget(info, type) {
  const arr = /^Array<(\w+)>$/.exec(type);
  const name = arr ? arr[1] : /^\w+$/.test(type) ? type : undefined;
  if (!name || !info.imports.has(name)) return undefined;
  return { array: Boolean(arr), file: resolveDts(info.file, info.imports.get(name)) };
}

function unknownFields(value, file, path, out) {
  const info = readDts(file);
  if (!info.props || typeof value !== "object" || value === null || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const prop = info.props.get(key);
    if (!prop) {
      out.push(`${path}.${key}: unknown field`);
      continue;
    }
    const t = typeTarget(info, prop.type);
    if (!t) continue;
    if (t.array && Array.isArray(v)) v.forEach((item, i) => unknownFields(item, t.file, `${path}.${key}[${i}]`, out));
    else if (!t.array) unknownFields(v, t.file, `${path}.${key}`, out);
  }
}

// ---- CRDs ------------------------------------------------------------------------------

let crdValidators;
function crdValidator(o) {
  if (!crdValidators) {
    const Ajv = require("ajv");
    const ajv = new Ajv({ allErrors: true, strict: false });
    crdValidators = new Map();
    const dir = join(here, "k8s", "schemas");
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
      crdValidators.set(f.replace(/\.json$/, ""), ajv.compile(JSON.parse(readFileSync(join(dir, f), "utf8"))));
    }
  }
  const [group, version] = o.apiVersion.split("/");
  return crdValidators.get(`${group}_${version}_${o.kind}`);
}

function crdErrors(o) {
  const v = crdValidator(o);
  if (!v) return [`no bundled schema for ${o.apiVersion} ${o.kind} (add one to deploy/k8s/schemas)`];
  if (v(o)) return [];
  return v.errors.map((e) => `${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`);
}

// ---- relations between objects ------------------------------------------------------------

const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const id = (o) => `${o.kind}/${o.metadata.name}`;

function podsOf(objects) {
  const pods = [];
  for (const o of objects) forEachPodSpec(o, (spec) => pods.push({ owner: o, labels: o.spec.template?.metadata?.labels ?? {}, spec }));
  return pods;
}

function relationErrors(objects, external) {
  const errs = [];
  const seen = new Set();
  const byKind = (k) => objects.filter((o) => o.kind === k);
  const names = (k) => new Set(byKind(k).map((o) => o.metadata.name));
  for (const o of objects) {
    const key = `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ""}/${o.metadata.name}`;
    if (seen.has(key)) errs.push(`${id(o)}: defined twice`);
    seen.add(key);
  }
  const configMaps = names("ConfigMap");
  const secrets = names("Secret");
  const pods = podsOf(objects);

  for (const { owner, labels, spec } of pods) {
    const where = id(owner);
    if (owner.spec.selector?.matchLabels && !matches(owner.spec.selector.matchLabels, labels)) errs.push(`${where}: selector does not match the pod template labels`);
    const ref = (kind, name, optional, what) => {
      if (optional || (kind === "Secret" && external.has(name))) return;
      if (!(kind === "ConfigMap" ? configMaps : secrets).has(name)) errs.push(`${where}: ${what} names ${kind} ${name}, which is not rendered (mark it optional or add it)`);
    };
    for (const v of spec.volumes ?? []) {
      if (v.configMap) ref("ConfigMap", v.configMap.name, v.configMap.optional, `volume ${v.name}`);
      if (v.secret) ref("Secret", v.secret.secretName, v.secret.optional, `volume ${v.name}`);
    }
    const volumeNames = new Set((spec.volumes ?? []).map((v) => v.name));
    const podSec = spec.securityContext ?? {};
    for (const c of spec.containers ?? []) {
      const cw = `${where} container ${c.name}`;
      const portNames = new Set((c.ports ?? []).map((p) => p.name).filter(Boolean));
      for (const ef of c.envFrom ?? []) {
        if (ef.configMapRef) ref("ConfigMap", ef.configMapRef.name, ef.configMapRef.optional, "envFrom");
        if (ef.secretRef) ref("Secret", ef.secretRef.name, ef.secretRef.optional, "envFrom");
      }
      for (const m of c.volumeMounts ?? []) if (!volumeNames.has(m.name)) errs.push(`${cw}: mounts unknown volume ${m.name}`);
      for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (typeof port === "string" && !portNames.has(port)) errs.push(`${cw}: ${probe} uses port ${port}, which the container does not name`);
      }
      if (!c.readinessProbe || !c.livenessProbe) errs.push(`${cw}: needs readiness and liveness probes`);
      const r = c.resources ?? {};
      if (!r.requests?.cpu || !r.requests?.memory || !r.limits?.memory) errs.push(`${cw}: needs cpu/memory requests and a memory limit`);
      const sec = c.securityContext ?? {};
      if (!(sec.runAsNonRoot ?? podSec.runAsNonRoot)) errs.push(`${cw}: must run as non-root`);
      if (!sec.readOnlyRootFilesystem) errs.push(`${cw}: needs readOnlyRootFilesystem`);
    }
  }

  for (const svc of byKind("Service")) {
    const sel = svc.spec?.selector;
    if (!sel) continue;
    const hits = pods.filter((p) => matches(sel, p.labels));
    if (hits.length === 0) {
      errs.push(`${id(svc)}: selector matches no pod template`);
      continue;
    }
    for (const port of svc.spec.ports ?? []) {
      if (typeof port.targetPort !== "string") continue;
      const ok = hits.every((p) => p.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.name === port.targetPort)));
      if (!ok) errs.push(`${id(svc)}: targetPort ${port.targetPort} is not a named container port of every selected pod`);
    }
  }
  for (const pdb of byKind("PodDisruptionBudget")) {
    if (!pods.some((p) => matches(pdb.spec?.selector?.matchLabels, p.labels))) errs.push(`${id(pdb)}: selector matches no pod template`);
  }
  const scaled = new Map();
  for (const o of [...byKind("HorizontalPodAutoscaler"), ...byKind("ScaledObject")]) {
    const t = o.spec.scaleTargetRef;
    const kind = t.kind ?? "Deployment";
    if (!objects.some((x) => x.kind === kind && x.metadata.name === t.name)) errs.push(`${id(o)}: scale target ${kind}/${t.name} is not rendered`);
    if (scaled.has(t.name)) errs.push(`${id(o)}: ${t.name} is also scaled by ${scaled.get(t.name)}`);
    scaled.set(t.name, id(o));
  }
  for (const np of byKind("NetworkPolicy")) {
    const sel = np.spec.podSelector?.matchLabels;
    if (sel && Object.keys(sel).length > 0 && !pods.some((p) => matches(sel, p.labels))) errs.push(`${id(np)}: podSelector matches no pod template`);
  }
  return errs;
}

// ---- entry points ------------------------------------------------------------------------------

/**
 * Secrets an overlay expects to be created out of band (never from the repository): the names in its
 * external-secrets.txt, one per line (# comments).
 */
export function externalSecrets(dir) {
  const file = join(dir, "external-secrets.txt");
  if (!existsSync(file)) return new Set();
  return new Set(readFileSync(file, "utf8").split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean));
}

/** Every problem in the given objects, as "Kind/name: message" lines. */
export async function validateObjects(objects, opts = {}) {
  const errs = [];
  for (const o of objects) {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
    if (CRD_GROUPS.has(group)) {
      for (const e of crdErrors(o)) errs.push(`${id(o)}: ${e}`);
      continue;
    }
    for (const e of await schemaErrors(o)) errs.push(`${id(o)}: ${e}`);
    const file = modelPath(o.apiVersion, o.kind).replace(/\.js$/, ".d.ts");
    if (existsSync(file)) {
      const unknown = [];
      unknownFields(o, file, "", unknown);
      for (const e of unknown) errs.push(`${id(o)}: ${e.slice(1)}`);
    }
  }
  errs.push(...relationErrors(objects, opts.externalSecrets ?? new Set()));
  return errs;
}

export async function validateDir(dir) {
  return validateObjects(build(dir), { externalSecrets: externalSecrets(dir) });
}

async function main(argv) {
  if (argv[0] === "--print" || argv[0] === "--json") {
    const objects = build(argv[1] ?? ".");
    const plain = JSON.parse(JSON.stringify(objects));
    process.stdout.write(argv[0] === "--json" ? `${JSON.stringify(plain)}\n` : plain.map((o) => stringify(o)).join("---\n"));
    return 0;
  }
  const targets = argv.length > 0 ? argv.map((d) => resolve(d)) : DEFAULT_TARGETS;
  let failed = 0;
  for (const dir of targets) {
    let errs;
    let count = 0;
    try {
      const objects = build(dir);
      count = objects.length;
      errs = await validateObjects(objects, { externalSecrets: externalSecrets(dir) });
    } catch (err) {
      errs = [err.message];
    }
    if (errs.length === 0) process.stdout.write(`ok   ${dir}: ${count} objects\n`);
    else {
      failed++;
      process.stdout.write(`FAIL ${dir}\n${errs.map((e) => `  ${e}`).join("\n")}\n`);
    }
  }
  return failed === 0 ? 0 : 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (err) => {
    process.stderr.write(`${err.stack ?? err}\n`);
    process.exit(2);
  });
}
