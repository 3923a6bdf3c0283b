// A small kustomize: renders deploy/k8s the way `kustomize build` does, for the
// features these manifests use, because no kustomize binary can be installed
// here from the package registries we use (docs/operations.md, "Validation").
// When a real kustomize is at hand (`kubectl kustomize`), tests/deploy compares
// its output with ours.
//
// Supported kustomization fields (anything else is an error, so a manifest can
// never silently rely on a feature this renderer lacks):
//   resources            files (multi-document YAML) and directories with a kustomization
//   namespace            set on every namespaced object
//   images               name -> newName / newTag / digest, in containers and initContainers
//   replicas             name -> count (Deployment, StatefulSet, ReplicaSet)
//   patches              path or inline; strategic merge (subset below) or JSON 6902;
//                        target by kind / name (anchored regex) / group / version / namespace
//   configMapGenerator   files, literals, envs; behavior create / merge / replace
//   secretGenerator      the same, type (default Opaque)
//   generatorOptions     disableNameSuffixHash
// Generated names get kustomize's content hash suffix once the top level is
// built, and every reference (volumes, envFrom, env valueFrom, projected) follows.
// Strategic merge subset: maps merge, `null` deletes, lists of objects merge by
// their Kubernetes merge key (containers, volumes, env, ... by name; volumeMounts
// by mountPath; ports by containerPort or port), `$patch: delete` removes a list
// item; other lists are replaced.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export class KustomizeError extends Error {
  constructor(message) {
    super(message);
    this.name = "KustomizeError";
  }
}

const GENERATED = Symbol("generated"); // { baseName, disableHash }
const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const SUPPORTED = new Set(["apiVersion", "kind", "resources", "namespace", "images", "replicas", "patches", "configMapGenerator", "secretGenerator", "generatorOptions"]);
const CLUSTER_SCOPED = new Set([
  "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume", "StorageClass",
  "PriorityClass", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "IngressClass", "RuntimeClass",
]);
const WORKLOADS = new Set(["Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"]);

const isMap = (v) => typeof v === "object" && v !== null && !Array.isArray(v);
const clone = (v) => structuredClone(v);

export function parseYamlDocs(text, where) {
  const out = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new KustomizeError(`${where}: ${doc.errors[0].message}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

function kustomizationFile(dir) {
  for (const f of KUSTOMIZATION_FILES) if (existsSync(join(dir, f))) return join(dir, f);
  throw new KustomizeError(`${dir}: no kustomization.yaml`);
}

function readKustomization(dir) {
  const file = kustomizationFile(dir);
  const [k] = parseYamlDocs(readFileSync(file, "utf8"), file);
  if (!isMap(k)) throw new KustomizeError(`${file}: not a mapping`);
  for (const key of Object.keys(k)) if (!SUPPORTED.has(key)) throw new KustomizeError(`${file}: field "${key}" is not supported by deploy/kustomize-lite.mjs`);
  return { file, k };
}

/** Renders the kustomization in `dir`; returns plain objects in kustomize's output order. */
export function build(dir) {
  const objects = buildLevel(resolve(dir));
  finalizeGeneratedNames(objects);
  return sortLegacy(objects);
}

function buildLevel(dir) {
  const { file, k } = readKustomization(dir);
  let objects = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new KustomizeError(`${file}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) objects.push(...buildLevel(path));
    else objects.push(...parseYamlDocs(readFileSync(path, "utf8"), path));
  }
  for (const o of objects) checkObject(o, file);

  const opts = k.generatorOptions ?? {};
  for (const g of k.configMapGenerator ?? []) objects = applyGenerator(objects, generate("ConfigMap", g, dir, opts), g.behavior ?? "create", file);
  for (const g of k.secretGenerator ?? []) objects = applyGenerator(objects, generate("Secret", g, dir, opts), g.behavior ?? "create", file);

  for (const p of k.patches ?? []) applyPatch(objects, p, dir, file);
  for (const r of k.replicas ?? []) {
    const hits = objects.filter((o) => o.metadata?.name === r.name && ["Deployment", "StatefulSet", "ReplicaSet"].includes(o.kind));
    if (hits.length === 0) throw new KustomizeError(`${file}: replicas: no workload named ${r.name}`);
    for (const o of hits) o.spec.replicas = r.count;
  }
  for (const img of k.images ?? []) applyImage(objects, img);
  if (k.namespace !== undefined) {
    for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
  }
  return objects;
}

function checkObject(o, file) {
  if (!isMap(o) || typeof o.kind !== "string" || typeof o.apiVersion !== "string" || !isMap(o.metadata) || typeof o.metadata.name !== "string") {
    throw new KustomizeError(`${file}: a resource without apiVersion, kind or metadata.name`);
  }
}

// ---- generators --------------------------------------------------------------

function parseEnvLines(text) {
  const out = {};
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new KustomizeError(`env line without "=": ${line}`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function literal(entry) {
  const eq = entry.indexOf("=");
  if (eq <= 0) throw new KustomizeError(`literal without "=": ${entry}`);
  let value = entry.slice(eq + 1);
  // kustomize drops one pair of surrounding quotes
  if (value.length >= 2 && ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'")))) value = value.slice(1, -1);
  return [entry.slice(0, eq), value];
}

function generate(kind, g, dir, opts) {
  const data = {};
  for (const f of g.files ?? []) {
    const eq = f.indexOf("=");
    const [key, path] = eq > 0 ? [f.slice(0, eq), f.slice(eq + 1)] : [basename(f), f];
    data[key] = readFileSync(resolve(dir, path), "utf8");
  }
  for (const l of g.literals ?? []) {
    const [key, value] = literal(l);
    data[key] = value;
  }
  for (const e of g.envs ?? []) Object.assign(data, parseEnvLines(readFileSync(resolve(dir, e), "utf8")));
  const o = { apiVersion: "v1", kind, metadata: { name: g.name } };
  if (g.namespace) o.metadata.namespace = g.namespace;
  if (kind === "Secret") {
    o.type = g.type ?? "Opaque";
    o.data = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]));
  } else {
    o.data = data;
  }
  const disableHash = g.options?.disableNameSuffixHash ?? opts.disableNameSuffixHash ?? false;
  Object.defineProperty(o, GENERATED, { value: { baseName: g.name, disableHash }, enumerable: false, writable: true });
  return o;
}

function applyGenerator(objects, gen, behavior, file) {
  const i = objects.findIndex((o) => o.kind === gen.kind && o[GENERATED]?.baseName === gen.metadata.name);
  if (behavior === "create") {
    if (i >= 0) throw new KustomizeError(`${file}: ${gen.kind} ${gen.metadata.name} already exists (use behavior: merge or replace)`);
    return [...objects, gen];
  }
  if (i < 0) throw new KustomizeError(`${file}: ${gen.kind} ${gen.metadata.name}: behavior ${behavior} needs one from a base`);
  const old = objects[i];
  if (behavior === "merge") {
    gen.data = { ...old.data, ...gen.data };
    gen.metadata = { ...old.metadata, ...gen.metadata, namespace: old.metadata.namespace };
    if (old.type !== undefined) gen.type = old.type;
  } else if (behavior !== "replace") {
    throw new KustomizeError(`${file}: unknown generator behavior ${behavior}`);
  }
  gen[GENERATED].disableHash = gen[GENERATED].disableHash || old[GENERATED].disableHash;
  const out = [...objects];
  out[i] = gen;
  return out;
}

/** Go's encoding/json escapes these; kustomize hashes Go's encoding. */
function goJson(value) {
  const sorted = (v) => (isMap(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v);
  return JSON.stringify(sorted(value)).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * kustomize's name suffix: sha256 of {kind, name, data} as Go's JSON, first 10 hex digits with 0,1,3,a,e
 * mapped away. kustomize hashes with an empty name (checked against `kubectl kustomize` v5.5).
 */
export function nameHash(o) {
  const m = o.kind === "Secret" ? { kind: "Secret", type: o.type ?? "", name: "", data: o.data ?? {} } : { kind: o.kind, name: "", data: o.data ?? {} };
  if (o.kind === "ConfigMap" && o.binaryData && Object.keys(o.binaryData).length > 0) m.binaryData = o.binaryData;
  const hex = createHash("sha256").update(goJson(m)).digest("hex");
  const map = { 0: "g", 1: "h", 3: "k", a: "m", e: "t" };
  return [...hex.slice(0, 10)].map((c) => map[c] ?? c).join("");
}

function finalizeGeneratedNames(objects) {
  const renames = { ConfigMap: new Map(), Secret: new Map() };
  for (const o of objects) {
    const g = o[GENERATED];
    if (!g || g.disableHash) continue;
    const name = `${g.baseName}-${nameHash(o)}`;
    renames[o.kind].set(g.baseName, name);
    o.metadata.name = name;
  }
  for (const o of objects) forEachPodSpec(o, (spec) => rewriteRefs(spec, renames));
}

function rewriteRefs(spec, renames) {
  const cm = (ref, key = "name") => {
    if (ref && renames.ConfigMap.has(ref[key])) ref[key] = renames.ConfigMap.get(ref[key]);
  };
  const sec = (ref, key = "name") => {
    if (ref && renames.Secret.has(ref[key])) ref[key] = renames.Secret.get(ref[key]);
  };
  for (const v of spec.volumes ?? []) {
    cm(v.configMap);
    sec(v.secret, "secretName");
    for (const s of v.projected?.sources ?? []) {
      cm(s.configMap);
      sec(s.secret);
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const ef of c.envFrom ?? []) {
      cm(ef.configMapRef);
      sec(ef.secretRef);
    }
    for (const e of c.env ?? []) {
      cm(e.valueFrom?.configMapKeyRef);
      sec(e.valueFrom?.secretKeyRef);
    }
  }
  for (const s of spec.imagePullSecrets ?? []) sec(s);
}

/** Calls fn with every pod spec in o (workloads, CronJob, Pod). */
export function forEachPodSpec(o, fn) {
  if (o.kind === "Pod" && o.spec) fn(o.spec);
  else if (WORKLOADS.has(o.kind) && o.spec?.template?.spec) fn(o.spec.template.spec);
  else if (o.kind === "CronJob" && o.spec?.jobTemplate?.spec?.template?.spec) fn(o.spec.jobTemplate.spec.template.spec);
}

// ---- images --------------------------------------------------------------------

function splitImage(image) {
  let rest = image;
  let digest;
  const at = rest.indexOf("@");
  if (at >= 0) [rest, digest] = [rest.slice(0, at), rest.slice(at + 1)];
  const slash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  let tag;
  if (colon > slash) [rest, tag] = [rest.slice(0, colon), rest.slice(colon + 1)];
  return { name: rest, tag, digest };
}

function applyImage(objects, img) {
  for (const o of objects) {
    forEachPodSpec(o, (spec) => {
      for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
        const cur = splitImage(c.image ?? "");
        if (cur.name !== img.name) continue;
        const name = img.newName ?? cur.name;
        if (img.digest) c.image = `${name}@${img.digest}`;
        else if (img.newTag) c.image = `${name}:${img.newTag}`;
        else c.image = `${name}${cur.tag ? `:${cur.tag}` : ""}${cur.digest ? `@${cur.digest}` : ""}`;
      }
    });
  }
}

// ---- patches -------------------------------------------------------------------

const MERGE_KEYS = { containers: "name", initContainers: "name", ephemeralContainers: "name", volumes: "name", env: "name", imagePullSecrets: "name", volumeMounts: "mountPath", volumeDevices: "devicePath" };

function mergeKeyFor(field, items) {
  if (MERGE_KEYS[field]) return MERGE_KEYS[field];
  if (field === "ports") return items.some((i) => isMap(i) && "containerPort" in i) ? "containerPort" : "port";
  return undefined;
}

/** Strategic merge of patch into target (both plain values); returns the result. */
export function strategicMerge(target, patch, field = "") {
  if (isMap(patch)) {
    if (patch.$patch === "replace") {
      const { $patch: _, ...rest } = patch;
      return clone(rest);
    }
    const out = isMap(target) ? { ...target } : {};
    for (const [k, v] of Object.entries(patch)) {
      if (k === "$patch") continue;
      if (v === null) delete out[k];
      else out[k] = strategicMerge(out[k], v, k);
    }
    return out;
  }
  if (Array.isArray(patch)) {
    const key = mergeKeyFor(field, patch);
    if (!key || !Array.isArray(target)) return clone(patch.filter((i) => !(isMap(i) && i.$patch === "delete")));
    // as Kubernetes orders a merged list: the patch's items in patch order, then the others in their order
    const rest = [...target];
    const head = [];
    for (const item of patch) {
      const j = rest.findIndex((t) => isMap(t) && isMap(item) && t[key] === item[key]);
      const old = j >= 0 ? rest.splice(j, 1)[0] : undefined;
      if (isMap(item) && item.$patch === "delete") continue;
      head.push(old === undefined ? clone(item) : strategicMerge(old, item, ""));
    }
    return [...head, ...rest];
  }
  return patch;
}

function pointer(path) {
  if (path === "") return [];
  if (!path.startsWith("/")) throw new KustomizeError(`JSON patch path must start with "/": ${path}`);
  return path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

export function jsonPatch(doc, ops) {
  for (const op of ops) {
    const segs = pointer(op.path);
    const last = segs.pop();
    let parent = doc;
    for (const s of segs) {
      parent = Array.isArray(parent) ? parent[Number(s)] : parent?.[s];
      if (parent === undefined) throw new KustomizeError(`JSON patch: ${op.path} does not exist`);
    }
    if (op.op === "add" || op.op === "replace") {
      if (Array.isArray(parent)) {
        const idx = last === "-" ? parent.length : Number(last);
        if (op.op === "add") parent.splice(idx, 0, clone(op.value));
        else if (idx < parent.length) parent[idx] = clone(op.value);
        else throw new KustomizeError(`JSON patch: ${op.path} does not exist`);
      } else {
        if (op.op === "replace" && !(last in parent)) throw new KustomizeError(`JSON patch: ${op.path} does not exist`);
        parent[last] = clone(op.value);
      }
    } else if (op.op === "remove") {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else if (last in parent) delete parent[last];
      else throw new KustomizeError(`JSON patch: ${op.path} does not exist`);
    } else {
      throw new KustomizeError(`JSON patch op ${op.op} is not supported`);
    }
  }
  return doc;
}

function matchesTarget(o, t) {
  const anchored = (re, v) => new RegExp(`^(?:${re})$`).test(v ?? "");
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
  if (t.kind !== undefined && !anchored(t.kind, o.kind)) return false;
  if (t.name !== undefined && !anchored(t.name, o.metadata.name)) return false;
  if (t.namespace !== undefined && !anchored(t.namespace, o.metadata.namespace)) return false;
  if (t.group !== undefined && !anchored(t.group, group)) return false;
  if (t.version !== undefined && !anchored(t.version, version)) return false;
  if (t.labelSelector !== undefined || t.annotationSelector !== undefined) throw new KustomizeError("patch target label/annotation selectors are not supported");
  return true;
}

function applyPatch(objects, p, dir, file) {
  const text = p.path !== undefined ? readFileSync(resolve(dir, p.path), "utf8") : p.patch;
  if (typeof text !== "string") throw new KustomizeError(`${file}: a patch needs path or patch`);
  const docs = parseYamlDocs(text, p.path ?? `${file} (inline patch)`);
  if (docs.length !== 1) throw new KustomizeError(`${file}: a patch must be one YAML document`);
  const body = docs[0];
  let target = p.target;
  if (!target) {
    if (Array.isArray(body)) throw new KustomizeError(`${file}: a JSON patch needs a target`);
    target = { kind: body.kind, name: body.metadata?.name };
  }
  const hits = objects.filter((o) => matchesTarget(o, target));
  if (hits.length === 0) throw new KustomizeError(`${file}: patch target ${JSON.stringify(target)} matches nothing`);
  for (const o of hits) {
    const i = objects.indexOf(o);
    const gen = o[GENERATED];
    let next;
    if (Array.isArray(body)) next = jsonPatch(clone(o), body);
    else {
      // the patch's own name and kind identify it; with a target they do not rename anything
      const { metadata, kind: _k, apiVersion: _a, ...rest } = body;
      const { name: _n, ...meta } = metadata ?? {};
      next = strategicMerge(o, Object.keys(meta).length > 0 ? { ...rest, metadata: meta } : rest);
    }
    if (gen) Object.defineProperty(next, GENERATED, { value: gen, enumerable: false, writable: true });
    objects[i] = next;
  }
}

// ---- output order ------------------------------------------------------------------

// kustomize's "legacy" order: these kinds first in this order, the rest after, then by name
const FIRST = ["Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition", "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange", "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment", "StatefulSet", "CronJob", "PodDisruptionBudget"];
const LAST = ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"];

/** group_version_kind as kustomize compares kinds outside its fixed order ("~G" for the core group). */
function gvkString(o) {
  const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["~G", o.apiVersion];
  return `${group}_${version}_${o.kind}`;
}

function sortLegacy(objects) {
  const rank = (k) => (FIRST.includes(k) ? FIRST.indexOf(k) : LAST.includes(k) ? 1000 + LAST.indexOf(k) : 500);
  return [...objects].sort((a, b) => {
    const r = rank(a.kind) - rank(b.kind);
    if (r !== 0) return r;
    if (rank(a.kind) === 500) {
      const ga = gvkString(a), gb = gvkString(b);
      if (ga !== gb) return ga < gb ? -1 : 1;
    }
    const na = `${a.metadata.namespace ?? ""}/${a.metadata.name}`;
    const nb = `${b.metadata.namespace ?? ""}/${b.metadata.name}`;
    return na < nb ? -1 : na > nb ? 1 : 0;
  });
}
