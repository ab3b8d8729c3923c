/**
 * JWT verification keys and the algorithm allowlist, checked at load.
 *
 * The rule that matters (RFC 8725 §2.1, §3.1): an allowlist per key source,
 * never the token's `alg` alone. A secret verifies only HS*; a public key
 * (jwks_url or public_key) only asymmetric algorithms. Allowing HS256 next to
 * a public key would let anyone sign tokens with the public key as the HMAC
 * secret ("key confusion"). "none" is refused outright.
 */

import { type KeyObject, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describeFsError } from "./normalize-common.ts";

export const JWT_ALGORITHMS = [
  "HS256", "HS384", "HS512",
  "RS256", "RS384", "RS512",
  "PS256", "PS384", "PS512",
  "ES256", "ES384", "ES512",
  "EdDSA",
] as const;

export type KeySource = "secret" | "jwks_url" | "public_key";

/** null when `alg` may be used with keys from `source` (null source: only the name is checked). */
export function checkAlgorithm(alg: string, source: KeySource | null): string | null {
  if (alg.toLowerCase() === "none") return '"none" is never accepted (unsigned tokens)';
  if (!(JWT_ALGORITHMS as readonly string[]).includes(alg)) {
    return `unknown algorithm ${JSON.stringify(alg)} (expected one of ${JWT_ALGORITHMS.join(", ")})`;
  }
  const symmetric = alg.startsWith("HS");
  if (source === "secret" && !symmetric) {
    return `${alg} needs jwks_url or public_key; a secret only verifies HS256, HS384, HS512`;
  }
  if (source !== null && source !== "secret" && symmetric) {
    return `${alg} needs a secret; keys from ${source} only verify asymmetric algorithms (HS* here would allow key confusion)`;
  }
  return null;
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

/** Parses PEM or JWK text into a public key; refuses private and symmetric keys. */
export function parsePublicKey(text: string): KeyObject | string {
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith("{")) {
      const jwk = JSON.parse(trimmed) as Record<string, unknown>;
      if (jwk.kty === "oct") return "a symmetric JWK (kty \"oct\") is not a public key; use secret instead";
      if ("d" in jwk) return "is a private key; give the public key (the gateway only verifies)";
      return createPublicKey({ key: jwk, format: "jwk" });
    }
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) {
      return "is a private key; give the public key (the gateway only verifies)";
    }
    return createPublicKey(trimmed);
  } catch (e) {
    return `not a valid PEM or JWK public key (${(e as Error).message})`;
  }
}

/** null when `key` can verify `alg` (RFC 7518 §3.1 key types; ES* curves per §3.4). */
export function keyFitsAlgorithm(key: KeyObject, alg: string): string | null {
  const type = key.asymmetricKeyType ?? "unknown";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  let fits: boolean;
  if (alg.startsWith("RS")) fits = type === "rsa";
  else if (alg.startsWith("PS")) fits = type === "rsa" || type === "rsa-pss";
  else if (alg === "ES256") fits = type === "ec" && curve === "prime256v1";
  else if (alg === "ES384") fits = type === "ec" && curve === "secp384r1";
  else if (alg === "ES512") fits = type === "ec" && curve === "secp521r1";
  else if (alg === "EdDSA") fits = type === "ed25519" || type === "ed448";
  else return null;
  if (fits) return null;
  const described = type === "ec" && curve !== undefined ? `an EC ${curve} key` : `an ${type.toUpperCase()} key`;
  return `${alg} does not fit the public_key (${described})`;
}
