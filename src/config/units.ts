/**
 * Duration and size strings of the config file. Strict on purpose: a number
 * and one unit, no spaces, no sign, no bare numbers ("5" could mean seconds or
 * milliseconds; the config never guesses).
 *
 *   durations: "250ms" "5s" "1.5s" "1m" "24h" "30d"   → milliseconds
 *   sizes:     "512B" "64KB" "10MB" "1GB" "1.5KB"      → bytes
 *
 * Size units are binary: KB = KiB = 1024 bytes, MB = MiB = 1024², GB = GiB =
 * 1024³ (the way nginx reads "10m"; nobody sizes a request body in powers of
 * ten). Both spellings are accepted and mean the same.
 *
 * Arithmetic is exact (BigInt over the decimal digits), so "1.1s" is 1100 ms,
 * not 1100.0000000000002; a value that is not a whole number of milliseconds
 * or bytes ("1.5ms", "0.5B") is refused rather than rounded.
 *
 * Errors carry no key path: the caller prefixes it.
 */

/** Source of the duration syntax, shared with the TypeBox schema's `pattern`. */
export const DURATION_PATTERN = "^(\\d+)(?:\\.(\\d+))?(ms|s|m|h|d)$";
/** Source of the size syntax, shared with the TypeBox schema's `pattern`. */
export const SIZE_PATTERN = "^(\\d+)(?:\\.(\\d+))?(B|KB|MB|GB|KiB|MiB|GiB)$";

const DURATION = new RegExp(DURATION_PATTERN);
const SIZE = new RegExp(SIZE_PATTERN);

const MS_PER_UNIT: Record<string, bigint> = {
  ms: 1n,
  s: 1000n,
  m: 60_000n,
  h: 3_600_000n,
  d: 86_400_000n,
};

const BYTES_PER_UNIT: Record<string, bigint> = {
  B: 1n,
  KB: 1024n,
  KiB: 1024n,
  MB: 1024n ** 2n,
  MiB: 1024n ** 2n,
  GB: 1024n ** 3n,
  GiB: 1024n ** 3n,
};

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

/** "1.5s" → 1500. Throws `invalid duration "5 s" (expected a number and a unit: ms, s, m, h, d)`. */
export function parseDuration(s: string): number {
  const shown = describe(s);
  const m = typeof s === "string" ? DURATION.exec(s) : null;
  if (m === null) throw new Error(`invalid duration ${shown} (expected a number and a unit: ms, s, m, h, d)`);
  const v = scale(m[1]!, m[2], MS_PER_UNIT[m[3]!]!);
  if (v === "fraction") throw new Error(`invalid duration ${shown} (not a whole number of milliseconds)`);
  if (v === "too_large") throw new Error(`invalid duration ${shown} (too large)`);
  return v;
}

/** "10MB" → 10485760. Throws `invalid size "10 MB" (expected a number and a unit: B, KB, MB, GB)`. */
export function parseSize(s: string): number {
  const shown = describe(s);
  const m = typeof s === "string" ? SIZE.exec(s) : null;
  if (m === null) throw new Error(`invalid size ${shown} (expected a number and a unit: B, KB, MB, GB)`);
  const v = scale(m[1]!, m[2], BYTES_PER_UNIT[m[3]!]!);
  if (v === "fraction") throw new Error(`invalid size ${shown} (not a whole number of bytes)`);
  if (v === "too_large") throw new Error(`invalid size ${shown} (too large)`);
  return v;
}

function scale(whole: string, fraction: string | undefined, unit: bigint): number | "fraction" | "too_large" {
  const digits = BigInt(whole + (fraction ?? ""));
  const divisor = 10n ** BigInt(fraction?.length ?? 0);
  const product = digits * unit;
  if (product % divisor !== 0n) return "fraction";
  const value = product / divisor;
  if (value > MAX) return "too_large";
  return Number(value);
}

function describe(s: unknown): string {
  return typeof s === "string" ? JSON.stringify(s) : String(s);
}
