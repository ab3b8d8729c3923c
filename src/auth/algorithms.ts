import { constants, timingSafeEqual, verify as verifyNode } from "node:crypto";
import type { KeyObject } from "node:crypto";

/**
 * JWS signature algorithms (RFC 7518 §3, RFC 8037 §3.1). Verification runs
 * synchronously on node:crypto: Bun's WebCrypto (which jose uses) hops to a
 * thread pool and measured 110-180 µs per RS256 verify against ~23 µs here
 * (bench/RESULTS.md, Auth), and it would force a Promise onto every uncached
 * request.
 *
 * This table is the one list of algorithm names: config load
 * (src/config/jwt-keys.ts) checks names, key sources and key fit with the
 * functions below, so what `--check` accepts is what the verifier runs.
 * "EdDSA" verifies Ed25519 keys only (keys.ts refuses Ed448: Bun's crypto
 * cannot import it). RFC 9864's fully-specified "Ed25519" is not offered yet.
 *
 * "none" is not in the table, so it can never be allowed (RFC 8725 §3.1).
 */
/**
 * Verification keys, imported once at build (or once per JWKS fetch), never
 * per request. `retired` is set when a JWKS refresh drops the key, so tokens
 * cached under it stop being served from the cache.
 */
export type VerifyKey =
  | { readonly kind: "secret"; readonly secret: Buffer; retired: boolean }
  | { readonly kind: "rsa" | "ec" | "ed25519"; readonly object: KeyObject; readonly curve: string | null; retired: boolean };

export type AlgorithmFamily = "hmac" | "rsa" | "pss" | "ecdsa" | "eddsa";

export interface AlgorithmSpec {
  readonly name: string;
  readonly family: AlgorithmFamily;
  /** node:crypto / Bun.CryptoHasher digest name; null for EdDSA (the curve fixes it). */
  readonly hash: "sha256" | "sha384" | "sha512" | null;
  /** Digest length in bytes: the HMAC minimum key size (RFC 7518 §3.2) and the PSS salt (§3.5). */
  readonly hashBytes: number;
  /** ECDSA: the curve the key must be on (RFC 7518 §3.4). */
  readonly curve: string | null;
  /** Exact signature length when fixed by the algorithm; 0 when it follows the key (RSA). */
  readonly signatureBytes: number;
}

function spec(
  name: string,
  family: AlgorithmFamily,
  hash: AlgorithmSpec["hash"],
  hashBytes: number,
  curve: string | null,
  signatureBytes: number,
): AlgorithmSpec {
  return Object.freeze({ name, family, hash, hashBytes, curve, signatureBytes });
}

const TABLE: ReadonlyMap<string, AlgorithmSpec> = new Map(
  [
    spec("HS256", "hmac", "sha256", 32, null, 32),
    spec("HS384", "hmac", "sha384", 48, null, 48),
    spec("HS512", "hmac", "sha512", 64, null, 64),
    spec("RS256", "rsa", "sha256", 32, null, 0),
    spec("RS384", "rsa", "sha384", 48, null, 0),
    spec("RS512", "rsa", "sha512", 64, null, 0),
    spec("PS256", "pss", "sha256", 32, null, 0),
    spec("PS384", "pss", "sha384", 48, null, 0),
    spec("PS512", "pss", "sha512", 64, null, 0),
    // JWS ECDSA signatures are R || S, each the curve's byte length (RFC 7518 §3.4).
    spec("ES256", "ecdsa", "sha256", 32, "P-256", 64),
    spec("ES384", "ecdsa", "sha384", 48, "P-384", 96),
    spec("ES512", "ecdsa", "sha512", 64, "P-521", 132),
    spec("EdDSA", "eddsa", null, 0, null, 64),
  ].map((s) => [s.name, s] as const),
);

/** Every algorithm name an issuer may allow, in table order (exact, case-sensitive). */
export const JWT_ALGORITHMS: readonly string[] = Object.freeze([...TABLE.keys()]);

export const ASYMMETRIC_ALGORITHMS: readonly string[] = [...TABLE.values()]
  .filter((s) => s.family !== "hmac")
  .map((s) => s.name);

export function algorithmSpec(name: string): AlgorithmSpec | undefined {
  return TABLE.get(name);
}

/** Why `name` can never be allowed, or null when it is in the table. */
export function algorithmNameProblem(name: string): string | null {
  if (name.toLowerCase() === "none") return '"none" is never accepted (unsigned tokens)';
  if (!TABLE.has(name)) return `unknown algorithm ${JSON.stringify(name)} (expected one of ${JWT_ALGORITHMS.join(", ")})`;
  return null;
}

/** Where an issuer's keys come from. */
export type KeySource = "secret" | "public_key" | "jwks_url";

/**
 * Whether keys from `source` may verify `alg`: HMAC only with a secret, every
 * other family only with public keys. HS* next to a public key would let
 * anyone sign with the public key as the HMAC secret (RFC 8725 §2.1, key
 * confusion).
 */
export function fitsKeySource(alg: AlgorithmSpec, source: KeySource): boolean {
  return (alg.family === "hmac") === (source === "secret");
}

/** Whether `key` is the right kind of key for `alg`: this is what stops HS/RS key confusion (RFC 8725 §2.1). */
export function keyFitsAlgorithm(alg: AlgorithmSpec, key: VerifyKey): boolean {
  switch (alg.family) {
    case "hmac":
      return key.kind === "secret" && key.secret.length >= alg.hashBytes;
    case "rsa":
    case "pss":
      return key.kind === "rsa";
    case "ecdsa":
      return key.kind === "ec" && key.curve === alg.curve;
    case "eddsa":
      return key.kind === "ed25519";
  }
}

/** Curve orders n (SEC 2 §2.4-2.6), big-endian, padded to the JWS scalar length (RFC 7518 §3.4). */
const ORDERS: Record<string, Uint8Array> = {
  "P-256": Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex"),
  "P-384": Buffer.from("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", "hex"),
  "P-521": Buffer.from(
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
    "hex",
  ),
};

/**
 * Whether r and s of a raw R || S signature both lie in [1, n-1] (SEC 1
 * §4.1.4 step 1). The crypto library checks this too; checking here as well
 * means a library regression cannot bring back CVE-2022-21449 (r = s = 0).
 */
export function ecdsaScalarsInRange(curve: string, signature: Uint8Array): boolean {
  const n = ORDERS[curve]!;
  const len = n.length;
  for (let half = 0; half < 2 * len; half += len) {
    let zero = true;
    let cmp = 0; // sign of (scalar - n) at the first differing byte
    for (let i = 0; i < len; i++) {
      const b = signature[half + i]!;
      if (b !== 0) zero = false;
      if (cmp === 0 && b !== n[i]) cmp = b < n[i]! ? -1 : 1;
    }
    if (zero || cmp >= 0) return false;
  }
  return true;
}

/**
 * Verify `signature` over the ASCII signing input (RFC 7515 §5.2 step 8).
 * Never throws: any crypto error counts as a bad signature. The caller has
 * already checked keyFitsAlgorithm.
 */
export function verifySignature(alg: AlgorithmSpec, key: VerifyKey, signingInput: string, signature: Uint8Array): boolean {
  if (alg.signatureBytes !== 0 && signature.length !== alg.signatureBytes) return false;
  if (alg.family === "ecdsa" && !ecdsaScalarsInRange(alg.curve!, signature)) return false;
  try {
    if (key.kind === "secret") {
      const expected = new Bun.CryptoHasher(alg.hash!, key.secret).update(signingInput).digest();
      // Lengths are equal here (checked above); timingSafeEqual keeps the compare constant-time.
      return timingSafeEqual(expected, signature);
    }
    // Bun's one-shot verify takes the ASCII string directly, saving a Buffer copy per call.
    const data = signingInput as unknown as Uint8Array;
    switch (alg.family) {
      case "rsa":
        return verifyNode(alg.hash, data, key.object, signature);
      case "pss":
        return verifyNode(
          alg.hash,
          data,
          { key: key.object, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: alg.hashBytes },
          signature,
        );
      case "ecdsa":
        return verifyNode(alg.hash, data, { key: key.object, dsaEncoding: "ieee-p1363" }, signature);
      case "eddsa":
        return verifyNode(null, data, key.object, signature);
      default:
        return false;
    }
  } catch {
    return false;
  }
}
