import { createPublicKey, type KeyObject } from "node:crypto";
import { algorithmSpec, keyFitsAlgorithm } from "./algorithms.ts";

/**
 * Verification keys, imported once at build (or once per JWKS fetch), never
 * per request. `retired` is set when a JWKS refresh drops the key, so tokens
 * cached under it stop being served from the cache.
 */
export type VerifyKey =
  | { readonly kind: "secret"; readonly secret: Buffer; retired: boolean }
  | { readonly kind: "rsa" | "ec" | "ed25519"; readonly object: KeyObject; readonly curve: string | null; retired: boolean };

/** RFC 7518 §3.3: RSA keys of 2048 bits or more. */
export const MIN_RSA_BITS = 2048;

/** A JWK as parsed JSON (RFC 7517 §4); members are checked where used. */
type Jwk = { [member: string]: unknown };

const CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };

/** HMAC secret: the UTF-8 bytes of the configured string. */
export function importSecret(secret: string): VerifyKey {
  return { kind: "secret", secret: Buffer.from(secret, "utf8"), retired: false };
}

/** A public key given as PEM (SPKI, PKCS#1 or certificate) or as JWK JSON text. Throws with the reason. */
export function importPublicKeyText(text: string): VerifyKey {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(trimmed);
    } catch {
      throw new Error("public_key looks like JWK JSON but does not parse");
    }
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw new Error("public_key JWK must be an object");
    return fromKeyObject(importJwkObject(jwk as Jwk));
  }
  let object: KeyObject;
  try {
    object = createPublicKey(trimmed);
  } catch (cause) {
    throw new Error(`public_key is not a PEM public key (${(cause as Error).message})`);
  }
  return fromKeyObject(object);
}

function importJwkObject(jwk: Jwk): KeyObject {
  if (jwk.kty === "oct") throw new Error("symmetric JWKs are not accepted as public keys");
  // Only the public members: a JWK that carries "d" must not be kept as a private key.
  const pub: Jwk = { kty: jwk.kty };
  if (jwk.kty === "RSA") Object.assign(pub, { n: jwk.n, e: jwk.e });
  else if (jwk.kty === "EC") Object.assign(pub, { crv: jwk.crv, x: jwk.x, y: jwk.y });
  else if (jwk.kty === "OKP") Object.assign(pub, { crv: jwk.crv, x: jwk.x });
  else throw new Error(`unsupported JWK kty ${JSON.stringify(String(jwk.kty))}`);
  try {
    return createPublicKey({ key: pub as never, format: "jwk" });
  } catch (cause) {
    throw new Error(`JWK does not import (${(cause as Error).message})`);
  }
}

function fromKeyObject(object: KeyObject): VerifyKey {
  switch (object.asymmetricKeyType) {
    case "rsa": {
      const bits = object.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) throw new Error(`RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
      return { kind: "rsa", object, curve: null, retired: false };
    }
    case "ec": {
      const curve = CURVES[object.asymmetricKeyDetails?.namedCurve ?? ""];
      if (!curve) throw new Error(`unsupported EC curve ${object.asymmetricKeyDetails?.namedCurve}`);
      return { kind: "ec", object, curve, retired: false };
    }
    case "ed25519":
      return { kind: "ed25519", object, curve: null, retired: false };
    default:
      throw new Error(`unsupported key type ${object.asymmetricKeyType}`);
  }
}

/** Algorithms from `allowed` that `key` can verify. */
export function algorithmsForKey(key: VerifyKey, allowed: readonly string[]): string[] {
  return allowed.filter((name) => {
    const alg = algorithmSpec(name);
    return alg !== undefined && keyFitsAlgorithm(alg, key);
  });
}

/** One usable entry of a JWK Set. */
export interface JwkEntry {
  readonly kid: string | null;
  /** The algorithms this key may verify: its own "alg" if it has one, else every allowed one that fits. */
  readonly algorithms: readonly string[];
  readonly key: VerifyKey;
}

/**
 * Import one member of a JWK Set (RFC 7517 §5), or return null when it is not
 * for us: not a signature key ("use" other than "sig" or "key_ops" without
 * "verify", §4.2-4.3), symmetric, an "alg" outside the allowlist or not
 * matching its key type, too weak, or unreadable.
 */
export function importJwk(value: unknown, allowed: readonly string[]): JwkEntry | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const jwk = value as Jwk;
  if (jwk.use !== undefined && jwk.use !== "sig") return null;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) return null;
  if (jwk.kid !== undefined && typeof jwk.kid !== "string") return null;
  if (jwk.alg !== undefined && (typeof jwk.alg !== "string" || !allowed.includes(jwk.alg))) return null;
  let key: VerifyKey;
  try {
    key = fromKeyObject(importJwkObject(jwk));
  } catch {
    return null;
  }
  const algorithms = algorithmsForKey(key, jwk.alg !== undefined ? [jwk.alg as string] : allowed);
  if (algorithms.length === 0) return null;
  return { kid: (jwk.kid as string | undefined) ?? null, algorithms, key };
}
