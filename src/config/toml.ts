/**
 * TOML text → plain data, with Bun's built-in parser (Bun.TOML.parse).
 *
 * Bun's syntax errors carry a message but no position, so the line is found
 * here: the error belongs to the first line of the trailing run of prefixes
 * (first N lines) that all fail with the very same message. A prefix cut
 * inside a multi-line string or array fails differently or parses, so it
 * does not shift the answer. Only done on failure, for files of sane size.
 */

import { ConfigError } from "../errors.ts";
import type { KeyPath, Problems } from "./problems.ts";

/** Longest file (in lines) for which the error line is searched. */
const MAX_LINES_TO_LOCATE = 5000;

/** Parses TOML; a syntax error throws a ConfigError `<file>: invalid TOML at line N: <problem>`. */
export function parseToml(text: string, sourcePath: string): Record<string, unknown> {
  try {
    return Bun.TOML.parse(text) as Record<string, unknown>;
  } catch (e) {
    const message = errorText(e);
    const line = locateError(text, message);
    const where = line === null ? "" : ` at line ${line}`;
    throw new ConfigError([`${sourcePath}: invalid TOML${where}: ${message.replace(/^TOML Parse error: /, "")}`]);
  }
}

function locateError(text: string, message: string): number | null {
  // Line n's prefix keeps its newline: some messages differ at end of input.
  const ends: number[] = [];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) ends.push(i + 1);
  if (ends.length === 0 || ends[ends.length - 1] !== text.length) ends.push(text.length);
  if (ends.length > MAX_LINES_TO_LOCATE) return null;
  let first: number | null = null;
  for (let n = ends.length; n >= 1; n--) {
    let failure: string | null = null;
    try {
      Bun.TOML.parse(text.slice(0, ends[n - 1]));
    } catch (e) {
      failure = errorText(e);
    }
    if (failure !== message) break;
    first = n;
  }
  return first;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * TOML dates and times (Temporal objects in Bun) are valid TOML but no
 * setting takes one; they are reported and removed so later stages only see
 * strings, numbers, booleans, arrays and tables.
 */
export function removeDateTimes(tree: Record<string, unknown>, problems: Problems, path: KeyPath = []): void {
  for (const [key, value] of Object.entries(tree)) {
    const at = [...path, key];
    if (Array.isArray(value)) {
      removeFromArray(value, problems, at);
    } else if (value !== null && typeof value === "object") {
      if (isPlainTable(value)) removeDateTimes(value as Record<string, unknown>, problems, at);
      else {
        problems.add(at, "TOML dates and times are not accepted (quote the value if it is a string)");
        delete tree[key];
      }
    }
  }
}

function removeFromArray(list: unknown[], problems: Problems, path: KeyPath): void {
  for (let i = 0; i < list.length; i++) {
    const value = list[i];
    if (Array.isArray(value)) removeFromArray(value, problems, [...path, i]);
    else if (value !== null && typeof value === "object") {
      if (isPlainTable(value)) removeDateTimes(value as Record<string, unknown>, problems, [...path, i]);
      else {
        problems.add([...path, i], "TOML dates and times are not accepted (quote the value if it is a string)");
        delete list[i];
      }
    }
  }
}

function isPlainTable(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
