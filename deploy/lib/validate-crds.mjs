// Validates custom resources of the operators the SEN platform declares
// (CloudNativePG, Prometheus Operator) against the models the npm packages
// @kubernetes-models/cloudnative-pg and @kubernetes-models/prometheus-operator
// ship. Those packages are generated from the operators' Go API types, the
// same types the operators' CRDs are generated from, and carry:
//   * compiled JSON-schema validators (types, enums, required fields, formats);
//   * TypeScript declarations listing every field of every type.
// The validators do not reject unknown fields, so a second pass walks each
// object against the declarations and reports any field the API does not have
// (what `kubectl apply --validate=strict` would refuse).
//
// Input (stdin): JSON array of {"id": str, "object": {...}}.
// Output (stdout): JSON array of {"id": str, "errors": [str, ...]}.
// Used by deploy/lib/check.py; run with NODE_PATH unset and cwd anywhere.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const NODE_MODULES = process.env.SEN_NODE_MODULES;
if (!NODE_MODULES || !fs.existsSync(NODE_MODULES)) {
  console.error(`validate-crds: SEN_NODE_MODULES (${NODE_MODULES}) is not a node_modules directory`);
  process.exit(2);
}

// apiVersion -> [package, directory inside the package]
const GROUPS = {
  "postgresql.cnpg.io/v1": ["@kubernetes-models/cloudnative-pg", "postgresql.cnpg.io/v1"],
  "monitoring.coreos.com/v1": ["@kubernetes-models/prometheus-operator", "monitoring.coreos.com/v1"],
  "monitoring.coreos.com/v1alpha1": ["@kubernetes-models/prometheus-operator", "monitoring.coreos.com/v1alpha1"],
  "monitoring.coreos.com/v1beta1": ["@kubernetes-models/prometheus-operator", "monitoring.coreos.com/v1beta1"],
};

// The Barman Cloud plugin's ObjectStore (barmancloud.cnpg.io/v1) has no model
// package; its spec.configuration is the barman-cloud API type that the
// CloudNativePG package does ship, and the rest is checked here.
const BARMAN_CONFIG = [
  "@kubernetes-models/cloudnative-pg",
  "github.com/cloudnative-pg/barman-cloud/pkg/api/BarmanObjectStoreConfiguration",
];
const OBJECTSTORE_SPEC_FIELDS = new Set(["configuration", "retentionPolicy", "instanceSidecarConfiguration"]);
const SIDECAR_FIELDS = new Set(["env", "resources", "retentionPolicyIntervalSeconds", "logLevel", "additionalContainerArgs"]);

// ---------------------------------------------------------------- declarations

const files = new Map(); // d.ts path -> parsed file

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function matchBrace(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return i;
  }
  throw new Error("unbalanced braces");
}

// Split an interface body into its top-level `"name"?: Type;` members.
function members(body) {
  const out = new Map();
  let depth = 0, start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if ("{<([".includes(c)) depth++;
    else if ("}>)]".includes(c)) depth--;
    else if (c === ";" && depth === 0) {
      const m = body.slice(start, i).trim().match(/^"?([^"?:]+)"?(\?)?\s*:\s*([\s\S]+)$/);
      if (m) out.set(m[1], m[3].trim());
      start = i + 1;
    }
  }
  return out;
}

function resolveModule(fromFile, spec) {
  if (spec.startsWith(".")) return path.resolve(path.dirname(fromFile), spec.replace(/\.js$/, "") + ".d.ts");
  return path.join(NODE_MODULES, spec.replace(/\.js$/, "") + ".d.ts");
}

function parseFile(file) {
  if (files.has(file)) return files.get(file);
  const parsed = { interfaces: new Map(), aliases: new Map(), exported: new Map(), imports: new Map() };
  files.set(file, parsed);
  if (!fs.existsSync(file)) return parsed;
  const text = stripComments(fs.readFileSync(file, "utf8"));
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const [orig, local] = name.split(/\s+as\s+/);
      parsed.imports.set((local || orig).trim(), { file: resolveModule(file, m[2]), name: orig.trim() });
    }
  }
  for (const m of text.matchAll(/export\s+type\s*\{([^}]*)\}/g)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      const [orig, alias] = name.split(/\s+as\s+/);
      parsed.exported.set((alias || orig).trim(), orig.trim());
    }
  }
  for (const m of text.matchAll(/export\s+type\s+(\w+)\s*=\s*([^;]+);/g)) parsed.aliases.set(m[1], m[2].trim());
  const re = /export\s+interface\s+(\w+)(?:\s+extends\s+([^{]+))?\s*\{/g;
  let m;
  while ((m = re.exec(text))) {
    const open = m.index + m[0].length - 1;
    const close = matchBrace(text, open);
    parsed.interfaces.set(m[1], {
      extends: (m[2] || "").split(",").map((s) => s.trim()).filter(Boolean),
      members: members(text.slice(open + 1, close)),
    });
    re.lastIndex = close;
  }
  return parsed;
}

// Find what a type name means inside `file`: {file, iface} | {alias: text, file} | null.
function lookup(file, name, seen = 0) {
  if (seen > 20) return null;
  const f = parseFile(file);
  if (f.interfaces.has(name)) return { file, iface: f.interfaces.get(name), name };
  if (f.aliases.has(name)) return { file, alias: f.aliases.get(name) };
  if (f.exported.has(name) && f.exported.get(name) !== name) return lookup(file, f.exported.get(name), seen + 1);
  if (f.imports.has(name)) {
    const imp = f.imports.get(name);
    return lookup(imp.file, imp.name, seen + 1);
  }
  return null;
}

// Turn a declared type into a shape: {kind: "any"} | {kind: "array", of} |
// {kind: "map", of} | {kind: "object", fields: Map(name -> shape thunk)}.
const shapes = new Map();
function shapeOf(file, typeText) {
  let t = typeText.trim().replace(/\s*\|\s*(null|undefined)\b/g, "").trim();
  let m;
  if ((m = t.match(/^Array<([\s\S]+)>$/))) return { kind: "array", of: () => shapeOf(file, m[1]) };
  if ((m = t.match(/^\{\s*\[key:\s*string\]:\s*([\s\S]+?);?\s*\}$/))) return { kind: "map", of: () => shapeOf(file, m[1]) };
  if (/^\w+$/.test(t)) {
    if (t === "TypeMeta") return { kind: "object", fields: new Map([["apiVersion", () => ANY], ["kind", () => ANY]]) };
    const found = lookup(file, t);
    if (!found) return ANY;
    if (found.alias !== undefined) return shapeOf(found.file, found.alias);
    const key = `${found.file}#${found.name}`;
    if (shapes.has(key)) return shapes.get(key);
    const shape = { kind: "object", fields: new Map() };
    shapes.set(key, shape);
    for (const parent of found.iface.extends) {
      const p = shapeOf(found.file, parent.replace(/<.*$/, ""));
      if (p.kind === "object") for (const [k, v] of p.fields) shape.fields.set(k, v);
    }
    for (const [k, v] of found.iface.members) shape.fields.set(k, () => shapeOf(found.file, v));
    return shape;
  }
  return ANY; // primitives, literal unions, inline objects: left to the JSON-schema validator
}
const ANY = { kind: "any" };

function unknownFields(value, shape, at, errors) {
  if (value === null || value === undefined || shape.kind === "any") return;
  if (shape.kind === "array" && Array.isArray(value)) {
    const of = shape.of();
    value.forEach((v, i) => unknownFields(v, of, `${at}[${i}]`, errors));
  } else if (shape.kind === "map" && typeof value === "object" && !Array.isArray(value)) {
    const of = shape.of();
    for (const [k, v] of Object.entries(value)) unknownFields(v, of, `${at}.${k}`, errors);
  } else if (shape.kind === "object" && typeof value === "object" && !Array.isArray(value)) {
    if (shape.fields.size === 0) return; // an empty declaration: free-form
    for (const [k, v] of Object.entries(value)) {
      const field = shape.fields.get(k);
      if (!field) errors.push(`${at ? at + "." : ""}${k}: unknown field (not in the API)`);
      else unknownFields(v, field(), `${at ? at + "." : ""}${k}`, errors);
    }
  }
}

// ---------------------------------------------------------------- validation

function ajvErrors(err) {
  const list = err && err.errors ? err.errors : null;
  if (!list) return [String(err && err.message ? err.message : err)];
  return list.map((e) => {
    const where = (e.instancePath || "").replace(/^\//, "").replace(/\//g, ".") || "(root)";
    const extra = e.params && e.params.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : "";
    return `${where}: ${e.message}${extra}`;
  });
}

async function loadModel(pkg, rel) {
  const js = path.join(NODE_MODULES, pkg, rel + ".js");
  if (!fs.existsSync(js)) return null;
  const mod = await import(pathToFileURL(js).href);
  const name = path.basename(rel);
  return { cls: mod[name], dts: path.join(NODE_MODULES, pkg, rel + ".d.ts"), name };
}

async function validateModel(model, data, errors, at = "") {
  try {
    new model.cls(data).validate();
  } catch (err) {
    for (const e of ajvErrors(err)) errors.push(at ? `${at}.${e}` : e);
  }
  unknownFields(data, shapeOf(model.dts, "I" + model.name), at, errors);
}

async function validate(obj) {
  const errors = [];
  const { apiVersion, kind } = obj;
  if (apiVersion === "barmancloud.cnpg.io/v1" && kind === "ObjectStore") {
    const meta = await loadModel("@kubernetes-models/apimachinery", "apis/meta/v1/ObjectMeta");
    await validateModel(meta, obj.metadata || {}, errors, "metadata");
    for (const k of Object.keys(obj)) {
      if (!["apiVersion", "kind", "metadata", "spec", "status"].includes(k)) errors.push(`${k}: unknown field (not in the API)`);
    }
    const spec = obj.spec;
    if (!spec || typeof spec !== "object") return ["spec: is required"];
    for (const k of Object.keys(spec)) if (!OBJECTSTORE_SPEC_FIELDS.has(k)) errors.push(`spec.${k}: unknown field (not in the API)`);
    if (spec.retentionPolicy !== undefined && !/^[1-9][0-9]*[dwm]$/.test(String(spec.retentionPolicy))) {
      errors.push(`spec.retentionPolicy: must match ^[1-9][0-9]*[dwm]$`);
    }
    if (spec.instanceSidecarConfiguration) {
      for (const k of Object.keys(spec.instanceSidecarConfiguration)) {
        if (!SIDECAR_FIELDS.has(k)) errors.push(`spec.instanceSidecarConfiguration.${k}: unknown field (not in the API)`);
      }
    }
    if (!spec.configuration) errors.push("spec.configuration: is required");
    else await validateModel(await loadModel(...BARMAN_CONFIG), spec.configuration, errors, "spec.configuration");
    return errors;
  }
  const group = GROUPS[apiVersion];
  const model = group && /^\w+$/.test(kind || "") ? await loadModel(group[0], `${group[1]}/${kind}`) : null;
  if (!model || !model.cls || model.cls.kind !== kind) return [`no schema for ${kind} ${apiVersion} in the operator model packages`];
  await validateModel(model, obj, errors);
  return errors;
}

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const results = [];
for (const item of input) results.push({ id: item.id, errors: await validate(item.object) });
process.stdout.write(JSON.stringify(results));
