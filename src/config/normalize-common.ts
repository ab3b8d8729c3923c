/**
 * Shared helpers of the normalize-*.ts files: the context they report into and
 * readers that turn a raw value into its normalized form or report why not.
 */

import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import { isToken } from "./addresses.ts";
import type { KeyPath, Problems } from "./problems.ts";
import { parseDuration, parseSize } from "./units.ts";

export interface NormalizeContext {
  readonly problems: Problems;
  /** Directory of the config file: relative file paths are resolved against it. */
  readonly configDir: string;
}

/** What a route's normalizer may know about the rest of the config (PolicyFactory.normalizeRoute). */
export interface RouteRefs {
  readonly upstreamNames: ReadonlySet<string>;
  readonly hasJwt: boolean;
  readonly hasApiKeys: boolean;
}

/** A duration string in ms, `fallback` when absent; reports and returns `fallback` when invalid. */
export function readDuration(ctx: NormalizeContext, value: string | undefined, path: KeyPath, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value);
  } catch (e) {
    ctx.problems.add(path, (e as Error).message);
    return fallback;
  }
}

/** A size string in bytes, `fallback` when absent; reports and returns `fallback` when invalid. */
export function readSize(ctx: NormalizeContext, value: string | undefined, path: KeyPath, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseSize(value);
  } catch (e) {
    ctx.problems.add(path, (e as Error).message);
    return fallback;
  }
}

/** A header field name, lower-cased (RFC 9110 §5.1: names are case-insensitive). */
export function readHeaderName(ctx: NormalizeContext, value: string, path: KeyPath): string {
  if (!isToken(value)) ctx.problems.add(path, `invalid header name ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

/** Requires a duration > 0 (a zero interval or timeout would spin or never wait). */
export function requirePositive(ctx: NormalizeContext, ms: number, raw: string | undefined, path: KeyPath): void {
  if (raw !== undefined && ms === 0) ctx.problems.add(path, "must be greater than 0");
}

/** Resolves `file` against the config directory and checks it is a readable file; returns the absolute path. */
export function resolveReadableFile(ctx: NormalizeContext, file: string, path: KeyPath): string {
  const absolute = resolve(ctx.configDir, file);
  const problem = unreadableReason(absolute);
  if (problem !== null) ctx.problems.add(path, `cannot read file "${absolute}": ${problem}`);
  return absolute;
}

/** null when `absolute` is a readable regular file, else why not. */
export function unreadableReason(absolute: string): string | null {
  try {
    if (!statSync(absolute).isFile()) return "not a regular file";
    accessSync(absolute, constants.R_OK);
    return null;
  } catch (e) {
    return describeFsError(e);
  }
}

/** "no such file or directory" for ENOENT and friends; the raw message otherwise. */
export function describeFsError(e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "a parent is not a directory";
  }
  return e instanceof Error ? e.message : String(e);
}

/** The items of a list that survived the schema check, with their original indices. */
export function present<T>(list: readonly (T | undefined)[] | undefined): [T, number][] {
  const out: [T, number][] = [];
  if (list === undefined) return out;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (item !== undefined) out.push([item, i]);
  }
  return out;
}

/** Like `present` but just the values (for string lists). */
export function values<T>(list: readonly (T | undefined)[] | undefined): T[] {
  return present(list).map(([v]) => v);
}
