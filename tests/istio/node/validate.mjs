// Strict validation of Kubernetes objects against the schemas shipped (as compiled ajv
// validators) by @kubernetes-models/gateway-api and @kubernetes-models/istio.
//
//   node validate.mjs < docs.json      (a JSON array of objects)  ->  JSON array of error lists
//
// The schemas come from the upstream CRDs; like every Kubernetes OpenAPI schema they do not
// say `additionalProperties: false`, so on their own they accept unknown fields (the API
// server prunes or rejects those; `kubectl --validate=strict` rejects them). Strictness is
// added here the way the API server decides it: a field is known if the schema for its
// object declares it. Each object is wrapped in a Proxy that records which property names
// the validator looks up; a key the validator never asked for is not in the schema. Objects
// whose schema enumerates keys (maps: labels, annotations, x-kubernetes-preserve-unknown-fields)
// are seen iterating their keys and are left open.
import { readFileSync } from "node:fs";

const KINDS = {
  "gateway.networking.k8s.io/v1/Gateway": "./node_modules/@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1Gateway.js",
  "gateway.networking.k8s.io/v1/HTTPRoute": "./node_modules/@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1HTTPRoute.js",
  "gateway.networking.k8s.io/v1beta1/ReferenceGrant": "./node_modules/@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1beta1ReferenceGrant.js",
  "security.istio.io/v1/AuthorizationPolicy": "./node_modules/@kubernetes-models/istio/_schemas/SecurityIstioIoV1AuthorizationPolicy.js",
  "security.istio.io/v1/RequestAuthentication": "./node_modules/@kubernetes-models/istio/_schemas/SecurityIstioIoV1RequestAuthentication.js",
};

function track(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const rec = { read: new Set(), open: false, path, value };
  seen.push(rec);
  const target = Array.isArray(value)
    ? value.map((v, i) => track(v, `${path}/${i}`, seen))
    : Object.fromEntries(Object.entries(value).map(([k, v]) => [k, track(v, `${path}/${k}`, seen)]));
  if (Array.isArray(value)) rec.open = true; // indices are not fields
  return new Proxy(target, {
    get(t, k, r) { if (typeof k === "string") rec.read.add(k); return Reflect.get(t, k, r); },
    has(t, k) { if (typeof k === "string") rec.read.add(k); return Reflect.has(t, k); },
    ownKeys(t) { rec.open = true; return Reflect.ownKeys(t); },
    getOwnPropertyDescriptor(t, k) { rec.open = true; return Reflect.getOwnPropertyDescriptor(t, k); },
  });
}

const docs = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const doc of docs) {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const mod = KINDS[key];
  if (!mod) { out.push([`no schema for ${key}`]); continue; }
  const { validate } = await import(new URL(mod, import.meta.url));
  const seen = [];
  const ok = validate(track(doc, "", seen));
  const errors = ok ? [] : validate.errors.map((e) => `${e.instancePath || "/"}: ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`);
  for (const rec of seen) {
    if (rec.open) continue;
    for (const k of Object.keys(rec.value)) {
      if (!rec.read.has(k)) errors.push(`${rec.path || "/"}: unknown field ${JSON.stringify(k)}`);
    }
  }
  out.push(errors);
}
process.stdout.write(JSON.stringify(out));
