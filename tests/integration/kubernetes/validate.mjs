// Checks the Kubernetes manifests (deploy/kubernetes, docs/kubernetes.md) against the
// Kubernetes API's schemas from the pinned npm packages, then against what Interlock needs:
//   node validate.mjs MANIFEST_DIR OUT_DIR [RENDERED.yaml]
// - every document parses as YAML (duplicate keys refused) and every object is valid for
//   its apiVersion and kind by kubernetes-models (the API's OpenAPI schemas compiled for
//   ajv: types, required fields, enums, formats) and names no field the API lacks
//   (@kubernetes/client-node's generated field lists: a misspelt key such as
//   `readinesProbe` would be silently dropped by a server's non-strict decoding);
// - kustomization.yaml lists every manifest but the Secrets' example;
// - the Deployment's pod runs as the image's uid (packaging/image/oci.py), non-root, on a
//   read-only root with no capabilities, seccomp RuntimeDefault, no privilege escalation;
//   probes /readyz and /healthz; the policies from a ConfigMap without subPath (so that
//   the kubelet's updates reach the pod); every Secret and key it reads is in
//   secrets.example.yaml; the Service, NetworkPolicy and PodDisruptionBudget select its
//   pods, and every port they name is the container's;
// - the ConfigMaps' daemon config and policies are written to OUT_DIR (config/, policies/)
//   for `interlock check` (run.sh), and the policy equals examples/policies' file;
// - RENDERED.yaml, `kubectl kustomize`'s output where kubectl is installed, holds the same
//   objects, each in the namespace `interlock`, and passes the same schema checks.
// Prints one line per check and exits 1 on the first failure set.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import * as models from "@kubernetes/client-node/dist/gen/models/all.js";

const [manifestDir, outDir, rendered] = process.argv.slice(2);
if (!manifestDir || !outDir) {
  console.error("usage: node validate.mjs MANIFEST_DIR OUT_DIR [RENDERED.yaml]");
  process.exit(2);
}
const repo = path.resolve(manifestDir, "../..");
const failures = [];
const fail = (what) => failures.push(what);
const ok = (what) => console.log(`ok   ${what}`);

function parseAll(file, text) {
  const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, prettyErrors: true });
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length) {
      fail(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
      continue;
    }
    const value = doc.toJS();
    if (value !== null) out.push(value);
  }
  return out;
}

// kubernetes-models' module path for an apiVersion and kind ("apps/v1" -> apps/v1/Kind,
// "v1" -> v1/Kind).
async function schemaCheck(where, obj) {
  const [group, version] = obj.apiVersion.includes("/")
    ? obj.apiVersion.split("/")
    : ["", obj.apiVersion];
  const modulePath = `kubernetes-models/${group ? group + "/" : ""}${version}/${obj.kind}`;
  let Model;
  try {
    Model = (await import(modulePath))[obj.kind];
  } catch (e) {
    fail(`${where}: no schema for ${obj.apiVersion} ${obj.kind} (${e.message})`);
    return;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    fail(`${where}: ${obj.kind}/${obj.metadata?.name} does not match the API schema: ${e.message}`);
    return;
  }
  const className = `V1${obj.kind}`;
  if (!models[className] || version !== "v1") {
    fail(`${where}: no field list for ${obj.apiVersion} ${obj.kind}`);
    return;
  }
  unknownFields(`${where}: ${obj.kind}/${obj.metadata?.name}`, obj, className, "");
}

// Walks `value` along the generated model's fields; a key the API does not define fails.
function unknownFields(where, value, type, at) {
  if (value === null || value === undefined) return;
  let m;
  if ((m = /^Array<(.+)>$/.exec(type))) {
    if (!Array.isArray(value)) return; // the schema check reports the type
    value.forEach((v, i) => unknownFields(where, v, m[1], `${at}[${i}]`));
    return;
  }
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
    for (const [k, v] of Object.entries(value)) unknownFields(where, v, m[1], `${at}.${k}`);
    return;
  }
  const model = models[type];
  if (!model || typeof model.getAttributeTypeMap !== "function") return; // a scalar
  if (typeof value !== "object" || Array.isArray(value)) return;
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) {
      fail(`${where}: ${at || "."}${at ? "." : ""}${k}: no such field in ${type}`);
      continue;
    }
    unknownFields(where, v, fields.get(k), `${at}${at ? "." : ""}${k}`);
  }
}

function matches(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

const files = fs.readdirSync(manifestDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const objects = [];
let kustomization;
for (const file of files) {
  const text = fs.readFileSync(path.join(manifestDir, file), "utf8");
  for (const obj of parseAll(file, text)) {
    if (obj.kind === "Kustomization") kustomization = { file, obj };
    else objects.push({ file, obj });
  }
}
for (const { file, obj } of objects) await schemaCheck(file, obj);
ok(`${objects.length} objects in ${files.length} files match the Kubernetes API schemas`);

if (!kustomization) fail("no kustomization.yaml");
else {
  const listed = new Set(kustomization.obj.resources ?? []);
  for (const file of files) {
    if (file === kustomization.file || file === "secrets.example.yaml") continue;
    if (!listed.has(file)) fail(`kustomization.yaml does not list ${file}`);
  }
  for (const r of listed) if (!files.includes(r)) fail(`kustomization.yaml lists missing ${r}`);
  ok("kustomization.yaml lists every manifest");
}

const byKind = (kind) => objects.filter((o) => o.obj.kind === kind).map((o) => o.obj);
const [deployment] = byKind("Deployment");
const pod = deployment.spec.template.spec;
const podLabels = deployment.spec.template.metadata.labels;
const [container] = pod.containers;
const imageUser = /^USER = "(\d+):(\d+)"$/m.exec(
  fs.readFileSync(path.join(repo, "packaging/image/oci.py"), "utf8"));
const want = (cond, what) => (cond ? null : fail(`Deployment: ${what}`));
want(imageUser && pod.securityContext.runAsUser === Number(imageUser[1]) &&
  pod.securityContext.runAsGroup === Number(imageUser[2]), "runs as the image's uid and gid");
want(pod.securityContext.runAsNonRoot === true, "runAsNonRoot");
want(pod.securityContext.seccompProfile?.type === "RuntimeDefault", "pod seccomp RuntimeDefault");
const sc = container.securityContext;
want(sc.readOnlyRootFilesystem === true, "readOnlyRootFilesystem");
want(sc.allowPrivilegeEscalation === false, "allowPrivilegeEscalation: false");
want(JSON.stringify(sc.capabilities?.drop) === '["ALL"]', "capabilities drop ALL");
want(sc.seccompProfile?.type === "RuntimeDefault", "container seccomp RuntimeDefault");
want(container.readinessProbe?.httpGet?.path === "/readyz", "readiness on /readyz");
want(container.livenessProbe?.httpGet?.path === "/healthz", "liveness on /healthz");
want(container.resources?.requests && container.resources?.limits?.memory, "resources");
want(matches(deployment.spec.selector.matchLabels, podLabels), "its selector picks its pods");
const mounts = new Map(container.volumeMounts.map((m) => [m.mountPath, m]));
const volumes = new Map(pod.volumes.map((v) => [v.name, v]));
for (const [mountPath, m] of mounts) {
  if (!volumes.has(m.name)) fail(`Deployment: mount ${mountPath} names no volume ${m.name}`);
}
const policiesMount = mounts.get("/etc/interlock/policies");
want(policiesMount && !policiesMount.subPath &&
  volumes.get(policiesMount.name)?.configMap, "policies from a ConfigMap, without subPath");
want(volumes.get(mounts.get("/var/lib/interlock")?.name)?.emptyDir !== undefined ||
  volumes.get(mounts.get("/var/lib/interlock")?.name)?.persistentVolumeClaim !== undefined,
  "a writable state volume at /var/lib/interlock");
want(mounts.has("/tmp"), "a writable /tmp");
// Every Secret and key the pod reads exists in the example, so the documented commands
// make what the pod needs.
const secrets = new Map(
  objects.filter((o) => o.obj.kind === "Secret").map((o) => [o.obj.metadata.name,
    new Set(Object.keys({ ...o.obj.data, ...o.obj.stringData }))]));
for (const v of pod.volumes.filter((v) => v.secret)) {
  const keys = secrets.get(v.secret.secretName);
  if (!keys) fail(`Deployment: Secret ${v.secret.secretName} is not in secrets.example.yaml`);
  for (const item of v.secret.items ?? []) {
    if (keys && !keys.has(item.key)) fail(`Deployment: no key ${item.key} in ${v.secret.secretName}`);
  }
}
for (const e of container.env ?? []) {
  const ref = e.valueFrom?.secretKeyRef;
  if (ref && !secrets.get(ref.name)?.has(ref.key)) {
    fail(`Deployment: env ${e.name} reads ${ref.name}/${ref.key}, not in secrets.example.yaml`);
  }
}
const ports = new Map(container.ports.map((p) => [p.name, p.containerPort]));
want(ports.get("http") === 8181 && ports.get("grpc") === 9191, "ports http 8181, grpc 9191");
ok("the Deployment: non-root image user, read-only root, no capabilities, seccomp, probes, " +
  "policies from a ConfigMap, Secrets as documented");

const [service] = byKind("Service");
if (!matches(service.spec.selector, podLabels)) fail("Service: its selector misses the pods");
for (const p of service.spec.ports) {
  if (!ports.has(p.targetPort)) fail(`Service: port ${p.name} targets no container port`);
}
const [pdb] = byKind("PodDisruptionBudget");
if (!matches(pdb.spec.selector.matchLabels, podLabels)) fail("PodDisruptionBudget: misses the pods");
if (!(pdb.spec.minAvailable < deployment.spec.replicas)) {
  fail("PodDisruptionBudget: minAvailable must stay below the replicas, or no node drains");
}
const [netpol] = byKind("NetworkPolicy");
if (!matches(netpol.spec.podSelector.matchLabels, podLabels)) fail("NetworkPolicy: misses the pods");
const allowedIn = new Set(netpol.spec.ingress.flatMap((r) => (r.ports ?? []).map((p) => p.port)));
for (const p of service.spec.ports) {
  if (!allowedIn.has(ports.get(p.targetPort))) fail(`NetworkPolicy: port ${p.port} closed`);
}
ok("Service, PodDisruptionBudget and NetworkPolicy select the pods and their ports");

// The ConfigMaps' files, for `interlock check` and the config's own reader (run.sh).
const configMaps = new Map(byKind("ConfigMap").map((c) => [c.metadata.name, c]));
for (const v of pod.volumes.filter((v) => v.configMap)) {
  const cm = configMaps.get(v.configMap.name);
  if (!cm) {
    fail(`Deployment: ConfigMap ${v.configMap.name} is not in the manifests`);
    continue;
  }
  const mount = container.volumeMounts.find((m) => m.name === v.name);
  const dir = path.join(outDir, path.basename(mount.mountPath));
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(cm.data)) fs.writeFileSync(path.join(dir, name), text);
}
for (const [name, text] of Object.entries(configMaps.get("interlock-policies")?.data ?? {})) {
  const example = path.join(repo, "examples/policies", name);
  if (!fs.existsSync(example) || fs.readFileSync(example, "utf8").replace(/^#.*\n/gm, "") !== text) {
    fail(`ConfigMap interlock-policies: ${name} differs from examples/policies/${name}`);
  }
}
ok(`the ConfigMaps' files written to ${outDir}`);

if (rendered) {
  const out = parseAll(rendered, fs.readFileSync(rendered, "utf8"));
  for (const obj of out) {
    await schemaCheck("kustomize output", obj);
    if (obj.kind !== "Namespace" && obj.metadata.namespace !== "interlock") {
      fail(`kustomize output: ${obj.kind}/${obj.metadata.name} is not in namespace interlock`);
    }
  }
  if (out.length !== objects.length - byKind("Secret").length) {
    fail(`kustomize output: ${out.length} objects, expected ${objects.length - byKind("Secret").length}`);
  }
  ok(`kubectl kustomize renders ${out.length} objects that match the schemas`);
}

if (failures.length) {
  for (const f of failures) console.error(`FAIL ${f}`);
  process.exit(1);
}
console.log("kubernetes manifests: passed");
