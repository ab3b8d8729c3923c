/**
 * Collects config problems with their key paths, so a load reports every
 * problem at once ("routes[0].upstream: no upstream named \"userz\"") instead
 * of stopping at the first.
 */

import { formatKeyPath, type KeyPath } from "../errors.ts";

export type { KeyPath } from "../errors.ts";
export type PathSegment = KeyPath[number];

export interface Problem {
  /** Formatted key path: `routes[0].rate_limits[1].key`; "" for the document itself. */
  readonly path: string;
  readonly message: string;
}

/** ["routes", 0, "upstream"] → "routes[0].upstream" (one formatter for config and engines: src/errors.ts). */
export const formatPath = formatKeyPath;

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
