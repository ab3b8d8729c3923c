/**
 * The subset of JSON Schema (draft 2020-12 validation vocabulary) a plugin's
 * config schema uses: what TypeBox's Type.Object/String/Number/Integer/
 * Boolean/Array/Literal/Union/Optional produce. Problems are reported with
 * key paths below the entry's `config`, like the gateway's own keys.
 * Unknown keywords are ignored (JSON Schema's rule for annotations).
 */
import { type KeyPath, Problems } from "../../config/problems.ts";

type Schema = Record<string, unknown>;

const TYPE_NAMES: Record<string, string> = {
  string: "expected string",
  number: "expected number",
  integer: "expected integer",
  boolean: "expected boolean",
  object: "expected table",
  array: "expected list",
  null: "expected null",
};

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case "string":
      return typeof v === "string";
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "integer":
      return typeof v === "number" && Number.isInteger(v);
    case "boolean":
      return typeof v === "boolean";
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    case "null":
      return v === null;
    default:
      return true;
  }
}

/** Reports every way `value` breaks `schema` under `at`; true when it conforms. */
export function checkJsonSchema(schema: unknown, value: unknown, at: KeyPath, problems: Problems): boolean {
  if (schema === true || schema === undefined) return true;
  if (schema === false) {
    problems.add(at, "not allowed");
    return false;
  }
  const s = schema as Schema;
  const before = problems.items.length;
  const types = s.type === undefined ? null : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (types !== null && !types.some((t) => typeOk(t, value))) {
    problems.add(at, types.map((t) => TYPE_NAMES[t] ?? `expected ${t}`).join(" or "));
    return false;
  }
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(value)) problems.add(at, `expected ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    problems.add(at, `expected one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (Array.isArray(s.anyOf) && !s.anyOf.some((alt) => conforms(alt, value))) problems.add(at, "matches none of the allowed forms");
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) problems.add(at, `expected at least ${s.minLength} characters`);
    if (typeof s.maxLength === "number" && value.length > s.maxLength) problems.add(at, `expected at most ${s.maxLength} characters`);
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(value)) problems.add(at, `expected to match ${s.pattern}`);
  }
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) problems.add(at, `expected >= ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) problems.add(at, `expected <= ${s.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) problems.add(at, `expected at least ${s.minItems} items`);
    if (typeof s.maxItems === "number" && value.length > s.maxItems) problems.add(at, `expected at most ${s.maxItems} items`);
    if (s.items !== undefined) value.forEach((item, i) => checkJsonSchema(s.items, item, [...at, i], problems));
  }
  if (typeOk("object", value)) {
    const obj = value as Record<string, unknown>;
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const key of (s.required ?? []) as string[]) if (!(key in obj)) problems.add([...at, key], "required");
    for (const [key, v] of Object.entries(obj)) {
      if (key in props) checkJsonSchema(props[key], v, [...at, key], problems);
      else if (s.additionalProperties === false) problems.add([...at, key], "unknown key");
      else if (typeof s.additionalProperties === "object") checkJsonSchema(s.additionalProperties, v, [...at, key], problems);
    }
  }
  return problems.items.length === before;
}

function conforms(schema: unknown, value: unknown): boolean {
  return checkJsonSchema(schema, value, [], new Problems());
}
