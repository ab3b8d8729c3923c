/**
 * `${NAME}` interpolation in string values of the parsed TOML.
 *
 *   ${NAME}           the variable's value; unset is an error ("" is a value)
 *   ${NAME:-default}  the default when NAME is unset or empty (shell `:-`)
 *   $${               a literal "${"
 *
 * NAME is [A-Za-z_][A-Za-z0-9_]*. The default is taken literally up to the
 * first "}" (no nesting, no interpolation inside it). A "$" not followed by
 * "{" is kept as it is. Only values are interpolated, never keys, and only
 * strings: `workers = "${N}"` stays a string and fails the schema, which says so.
 *
 * The environment is a parameter so tests (and reloads) pass their own.
 */

import type { KeyPath, Problems } from "./problems.ts";

export type Env = Readonly<Record<string, string | undefined>>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface Interpolated {
  value: string;
  /** Variables referenced without a default and not set, in order of appearance. */
  unset: string[];
  /** Malformed reference, if any (the value is then unusable). */
  malformed: string | null;
}

/** Interpolates one string; never throws. */
export function interpolateString(text: string, env: Env): Interpolated {
  if (!text.includes("$")) return { value: text, unset: [], malformed: null };
  let out = "";
  const unset: string[] = [];
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf("$", i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    if (text.startsWith("$${", dollar)) {
      out += "${";
      i = dollar + 3;
      continue;
    }
    if (text[dollar + 1] !== "{") {
      out += "$";
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf("}", dollar + 2);
    if (close === -1) {
      return { value: text, unset, malformed: 'unterminated "${" (write "$${" for a literal "${")' };
    }
    const body = text.slice(dollar + 2, close);
    const sep = body.indexOf(":-");
    const name = sep === -1 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      return {
        value: text,
        unset,
        malformed: `invalid variable reference ${JSON.stringify("${" + body + "}")} (expected \${NAME} or \${NAME:-default})`,
      };
    }
    const set = env[name];
    if (sep !== -1) {
      out += set === undefined || set === "" ? body.slice(sep + 2) : set;
    } else if (set === undefined) {
      unset.push(name);
    } else {
      out += set;
    }
    i = close + 1;
  }
  return { value: out, unset, malformed: null };
}

/**
 * Returns a copy of `tree` with every string value interpolated (tables and
 * arrays recursively). A value that cannot be interpolated is reported at its
 * key path and kept uninterpolated, so checks that only need to know the key
 * is there (exactly one of jwks_url/secret/public_key) still pass; the loader
 * drops any later problem at or under that path.
 */
export function interpolateTree(tree: unknown, env: Env, problems: Problems, path: KeyPath = []): unknown {
  if (typeof tree === "string") {
    const r = interpolateString(tree, env);
    if (r.malformed !== null) {
      problems.add(path, r.malformed);
      return tree;
    }
    if (r.unset.length > 0) {
      for (const name of r.unset) problems.add(path, `environment variable ${name} is not set`);
      return tree;
    }
    return r.value;
  }
  if (Array.isArray(tree)) {
    const out: unknown[] = new Array(tree.length);
    for (let i = 0; i < tree.length; i++) {
      // Holes (values removed earlier) stay holes.
      if (i in tree) out[i] = interpolateTree(tree[i], env, problems, [...path, i]);
    }
    return out;
  }
  if (tree !== null && typeof tree === "object" && isPlainObject(tree)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) {
      out[k] = interpolateTree(v, env, problems, [...path, k]);
    }
    return out;
  }
  return tree;
}

/** Tables only: anything else (a TOML date is a Temporal object) is left for the later checks to refuse. */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
