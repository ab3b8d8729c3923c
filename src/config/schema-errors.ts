/**
 * Runs the TypeBox schema over the raw config and turns its errors into
 * plain problems: JSON-pointer paths (/routes/0/upstream) become key paths
 * (routes[0].upstream), generic messages become the schema's `errorMessage`,
 * "unknown key" or "required key missing".
 *
 * A union's own error ("expected union value") says nothing useful when the
 * value had the right shape for one variant: `key = ["ip", 5]` fails the
 * string variant at `key` but the list variant at `key[1]`. So when a
 * variant's errors all lie strictly inside the value, those are reported
 * instead; otherwise the union's errorMessage is.
 *
 * Every offending value is then removed from the tree (array items leave
 * holes, so indices and key paths stay right), which lets normalization run
 * over the rest and report its own problems in the same load.
 */

import type { TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { Value } from "@sinclair/typebox/value";
import type { KeyPath, PathSegment, Problems } from "./problems.ts";
import { NOT_AVAILABLE, UNIT } from "./schema.ts";
import { parseDuration, parseSize } from "./units.ts";

/** Checks `root` against `schema`; reports problems and removes the offending values from `root`. */
export function checkSchema(schema: TSchema, root: Record<string, unknown>, problems: Problems): void {
  const found: { path: KeyPath; error: ValueError }[] = [];
  for (const error of Value.Errors(schema, root)) {
    for (const leaf of expandUnion(error)) found.push({ path: toKeyPath(root, leaf.path), error: leaf });
  }
  // TypeBox also visits a missing required key and reports its type; "required key missing" says it all.
  const missing = new Set(
    found.filter((f) => f.error.type === ValueErrorType.ObjectRequiredProperty).map((f) => f.error.path),
  );
  for (const { path, error } of found) {
    if (error.type !== ValueErrorType.ObjectRequiredProperty && missing.has(error.path)) continue;
    problems.add(path, describe(error, path));
  }
  for (const { path, error } of found) {
    if (error.type !== ValueErrorType.ObjectRequiredProperty) removeAt(root, path);
  }
}

function* expandUnion(error: ValueError): Generator<ValueError> {
  if (error.type !== ValueErrorType.Union) {
    yield error;
    return;
  }
  const inside = `${error.path}/`;
  for (const variant of error.errors) {
    const list = [...variant];
    if (list.length > 0 && list.every((e) => e.path.startsWith(inside))) {
      for (const e of list) yield* expandUnion(e);
      return;
    }
  }
  yield error;
}

const GENERIC: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.String]: "expected a string",
  [ValueErrorType.Number]: "expected a number",
  [ValueErrorType.Integer]: "expected an integer",
  [ValueErrorType.Boolean]: "expected true or false",
  [ValueErrorType.Array]: "expected a list",
  [ValueErrorType.Object]: "expected a table",
  [ValueErrorType.StringMinLength]: "expected a non-empty string",
};

function describe(error: ValueError, path: KeyPath): string {
  const schema = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const notAvailable = schema[NOT_AVAILABLE] as Record<string, string> | undefined;
      const key = path[path.length - 1];
      return (typeof key === "string" && notAvailable?.[key]) || "unknown key";
    }
    case ValueErrorType.ObjectRequiredProperty:
      return "required key missing";
    case ValueErrorType.StringPattern: {
      const unit = schema[UNIT];
      const parse = unit === "duration" ? parseDuration : unit === "size" ? parseSize : null;
      if (parse !== null && typeof error.value === "string") {
        try {
          parse(error.value);
        } catch (e) {
          return (e as Error).message;
        }
      }
      break;
    }
  }
  if (typeof schema.errorMessage === "string") return schema.errorMessage;
  const generic = GENERIC[error.type];
  if (generic !== undefined) return generic;
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    return `expected a value from ${String(schema.minimum ?? "-∞")} to ${String(schema.maximum ?? "∞")}`;
  }
  return "invalid value";
}

/** "/routes/0/upstream" → ["routes", 0, "upstream"], using the tree to tell list indices from keys. */
function toKeyPath(root: unknown, pointer: string): PathSegment[] {
  if (pointer === "") return [];
  const out: PathSegment[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(node)) {
      const index = Number(key);
      out.push(index);
      node = node[index];
    } else {
      out.push(key);
      node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function removeAt(root: Record<string, unknown>, path: KeyPath): void {
  if (path.length === 0) return;
  let node: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    if (node === null || typeof node !== "object") return;
    node = (node as Record<PathSegment, unknown>)[path[i]!];
  }
  if (node === null || typeof node !== "object") return;
  // `delete` on an array leaves a hole, so later indices keep their key paths.
  delete (node as Record<PathSegment, unknown>)[path[path.length - 1]!];
}
