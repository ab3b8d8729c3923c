/**
 * Collects config problems with their key paths, so a load reports every
 * problem at once ("routes[0].upstream: no upstream named \"userz\"") instead
 * of stopping at the first.
 */

export type PathSegment = string | number;
export type KeyPath = readonly PathSegment[];

export interface Problem {
  /** Formatted key path: `routes[0].rate_limits[1].key`; "" for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** TOML bare keys print as-is; anything else is quoted, as TOML would need it. */
const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** ["routes", 0, "upstream"] → "routes[0].upstream"; keys needing quotes are quoted ("forward_claims.\"a.b\""). */
export function formatPath(path: KeyPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") {
      out += `[${seg}]`;
      continue;
    }
    const key = BARE_KEY.test(seg) ? seg : JSON.stringify(seg);
    out += out === "" ? key : `.${key}`;
  }
  return out;
}

/** True when `path` is `ancestor` or lies inside it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === "") return true;
  if (!path.startsWith(ancestor)) return false;
  if (path.length === ancestor.length) return true;
  const next = path[ancestor.length];
  return next === "." || next === "[";
}

export class Problems {
  readonly items: Problem[] = [];

  add(path: KeyPath, message: string): void {
    this.items.push({ path: formatPath(path), message });
  }

  get count(): number {
    return this.items.length;
  }

  /** "path: message" lines in report order, duplicates removed. */
  lines(): string[] {
    return problemLines(this.items);
  }
}

/** "path: message" lines in the given order, duplicates removed. */
export function problemLines(problems: readonly Problem[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of problems) {
    const line = p.path === "" ? p.message : `${p.path}: ${p.message}`;
    if (seen.has(line)) continue;
    seen.add(line);
    out.push(line);
  }
  return out;
}
