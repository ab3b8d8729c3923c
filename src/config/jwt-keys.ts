/**
 * JWT verification keys and the algorithm allowlist, checked at load, in the
 * config's words. The rules are the verifier's own (src/auth/algorithms.ts,
 * src/auth/keys.ts: the algorithm names, which key source and which key fits
 * which algorithm, what a public key must be); this file only reads key files
 * and phrases the problems.
 *
 * The rule that matters (RFC 8725 §2.1, §3.1): an allowlist per key source,
 * never the token's `alg` alone. A secret verifies only HS*; a public key
 * (jwks_url or public_key) only asymmetric algorithms. Allowing HS256 next to
 * a public key would let anyone sign tokens with the public key as the HMAC
 * secret ("key confusion"). "none" is refused outright.
 */

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  JWT_ALGORITHMS,
  algorithmNameProblem,
  algorithmSpec,
  fitsKeySource,
  keyFitsAlgorithm,
  type KeySource,
} from "../auth/algorithms.ts";
import { describeKey, parsePublicKeyText, type VerifyKey } from "../auth/keys.ts";
import { describeFsError } from "./normalize-common.ts";

export type { KeySource, VerifyKey };

const HMAC_NAMES = JWT_ALGORITHMS.filter((a) => algorithmSpec(a)!.family === "hmac").join(", ");

/** null when `alg` may be used with keys from `source` (null source: only the name is checked). */
export function checkAlgorithm(alg: string, source: KeySource | null): string | null {
  const bad = algorithmNameProblem(alg);
  if (bad !== null || source === null || fitsKeySource(algorithmSpec(alg)!, source)) return bad;
  if (source === "secret") return `${alg} needs jwks_url or public_key; a secret only verifies ${HMAC_NAMES}`;
  return `${alg} needs a secret; keys from ${source} only verify asymmetric algorithms (HS* here would allow key confusion)`;
}

/** Bytes an HMAC secret needs for the HS* algorithms among `algorithms` (RFC 7518 §3.2: the hash output length); 0 without any. */
export function hmacSecretBytes(algorithms: readonly string[]): number {
  return Math.max(0, ...algorithms.map((a) => algorithmSpec(a)).filter((s) => s?.family === "hmac").map((s) => s!.hashBytes));
}

/**
 * The key text of `public_key`: inline PEM ("-----BEGIN ...") or JWK JSON ("{...}")
 * as given, anything else is a file path read relative to the config directory.
 */
export function readPublicKeyText(value: string, configDir: string): { text: string } | { error: string } {
  const inline = value.trimStart();
  if (inline.startsWith("-----BEGIN") || inline.startsWith("{")) return { text: value };
  const file = resolve(configDir, value);
  try {
    return { text: readFileSync(file, "utf8") };
  } catch (e) {
    return { error: `cannot read file "${file}": ${describeFsError(e)}` };
  }
}

/** PEM or JWK text → the verifier's key, or why the verifier would refuse it (private, symmetric, weak, unsupported curve). */
export function parsePublicKey(text: string): VerifyKey | string {
  return parsePublicKeyText(text);
}

/** null when `key` can verify `alg` (RFC 7518 §3.1 key types; ES* curves per §3.4). */
export function keyFitsPublicKey(key: VerifyKey, alg: string): string | null {
  const spec = algorithmSpec(alg);
  if (spec === undefined || keyFitsAlgorithm(spec, key)) return null;
  return `${alg} does not fit the public_key (${describeKey(key)})`;
}
