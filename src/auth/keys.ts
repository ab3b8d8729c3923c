import { createPublicKey, type KeyObject } from "node:crypto";
import { algorithmSpec, keyFitsAlgorithm, type VerifyKey } from "./algorithms.ts";

export type { VerifyKey } from "./algorithms.ts";


/** RFC 7518 §3.3: RSA keys of 2048 bits or more. */
export const MIN_RSA_BITS = 2048;

/** A JWK as parsed JSON (RFC 7517 §4); members are checked where used. */
type Jwk = { [member: string]: unknown };

/** OpenSSL curve name → JWA name (RFC 7518 §3.4: the curves ES256/384/512 use). */
const CURVES: Record<string, string> = { prime256v1: "P-256", secp384r1: "P-384", secp521r1: "P-521" };
const JWK_CURVES = new Set(Object.values(CURVES));

const NOT_A_KEY = "not a valid PEM or JWK public key";
const PRIVATE = "is a private key; give the public key (the gateway only verifies)";
const EXPECTED = "expected RSA (>= 2048 bits), EC P-256/P-384/P-521 or Ed25519";
const ED448 = 'Ed448 keys are not supported: "EdDSA" verifies Ed25519 keys only (Bun\'s crypto cannot import Ed448); use an Ed25519 key';
const RSA_PSS =
  "RSA-PSS-only keys (id-RSASSA-PSS) are not supported; give the same key as a plain RSA key (rsaEncryption), which PS256/PS384/PS512 verify with";
const unsupportedCurve = (curve: string) => `unsupported EC curve ${curve} (expected P-256, P-384 or P-521)`;

/** HMAC secret: the UTF-8 bytes of the configured string. */
export function importSecret(secret: string): VerifyKey {
  return { kind: "secret", secret: Buffer.from(secret, "utf8"), retired: false };
}

/**
 * The import rules for a configured public key, without throwing: PEM (SPKI,
 * PKCS#1 or certificate) or JWK JSON text → the key, or why it is refused
 * (private or symmetric keys, RSA under 2048 bits, curves other than P-256,
 * P-384, P-521 and Ed25519). Config load and the verifier both use this.
 */
export function parsePublicKeyText(text: string): VerifyKey | string {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(trimmed);
    } catch (cause) {
      return `${NOT_A_KEY} (${(cause as Error).message})`;
    }
    if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return `${NOT_A_KEY} (a JWK is a JSON object)`;
    if ((jwk as Jwk).kty === "oct") return 'a symmetric JWK (kty "oct") is not a public key; use secret instead';
    if ("d" in jwk) return PRIVATE;
    const object = importJwkObject(jwk as Jwk);
    return typeof object === "string" ? object : fromKeyObject(object);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(trimmed)) return PRIVATE;
  let object: KeyObject;
  try {
    object = createPublicKey(trimmed);
  } catch (cause) {
    return unsupportedSpki(trimmed) ?? `${NOT_A_KEY} (${(cause as Error).message})`;
  }
  return fromKeyObject(object);
}

/** parsePublicKeyText, throwing the reason. */
export function importPublicKeyText(text: string): VerifyKey {
  const key = parsePublicKeyText(text);
  if (typeof key === "string") throw new Error(key);
  return key;
}

/** "an RSA key", "an EC prime256v1 key", "an ED25519 key", for messages about a key that does not fit. */
export function describeKey(key: VerifyKey): string {
  if (key.kind === "secret") return "a secret";
  const curve = key.object.asymmetricKeyDetails?.namedCurve;
  return key.kind === "ec" && curve !== undefined ? `an EC ${curve} key` : `an ${key.kind.toUpperCase()} key`;
}

function importJwkObject(jwk: Jwk): KeyObject | string {
  if (jwk.kty === "oct") return "symmetric JWKs are not accepted as public keys";
  // Only the public members: a JWK that carries "d" must not be kept as a private key.
  const pub: Jwk = { kty: jwk.kty };
  if (jwk.kty === "RSA") Object.assign(pub, { n: jwk.n, e: jwk.e });
  else if (jwk.kty === "EC") {
    if (!JWK_CURVES.has(jwk.crv as string)) return unsupportedCurve(String(jwk.crv));
    Object.assign(pub, { crv: jwk.crv, x: jwk.x, y: jwk.y });
  } else if (jwk.kty === "OKP") {
    if (jwk.crv === "Ed448") return ED448;
    if (jwk.crv !== "Ed25519") return `unsupported OKP curve ${String(jwk.crv)} (expected Ed25519)`;
    Object.assign(pub, { crv: jwk.crv, x: jwk.x });
  } else return `unsupported JWK kty ${JSON.stringify(String(jwk.kty))} (expected RSA, EC or OKP)`;
  try {
    return createPublicKey({ key: pub as never, format: "jwk" });
  } catch (cause) {
    return `${NOT_A_KEY} (JWK does not import: ${(cause as Error).message})`;
  }
}

function fromKeyObject(object: KeyObject): VerifyKey | string {
  switch (object.asymmetricKeyType) {
    case "rsa": {
      const bits = object.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) return `RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required (RFC 7518 §3.3)`;
      return { kind: "rsa", object, curve: null, retired: false };
    }
    case "ec": {
      const named = object.asymmetricKeyDetails?.namedCurve ?? "unknown";
      const curve = CURVES[named];
      if (!curve) return unsupportedCurve(named);
      return { kind: "ec", object, curve, retired: false };
    }
    case "ed25519":
      return { kind: "ed25519", object, curve: null, retired: false };
    case "ed448":
      return ED448;
    case "rsa-pss":
      return RSA_PSS;
    default:
      return `unsupported key type ${object.asymmetricKeyType} (${EXPECTED})`;
  }
}

/** SPKI algorithm OIDs (DER contents, hex) of keys Bun's crypto cannot import, for a message better than OpenSSL's. */
const SPKI_REFUSALS: Record<string, string> = {
  "2b6571": ED448, // id-Ed448, RFC 8410 §3
  "2a864886f70d01010a": RSA_PSS, // id-RSASSA-PSS, RFC 4055 §3.1
  "2b656e": `X25519 is a key-agreement key, not a signature key (${EXPECTED})`,
  "2b656f": `X448 is a key-agreement key, not a signature key (${EXPECTED})`,
  "2a8648ce380401": `DSA keys are not supported (${EXPECTED})`,
};
const EC_PUBLIC_KEY = "2a8648ce3d0201";
const EC_CURVE_NAMES: Record<string, string> = { "2b8104000a": "secp256k1", "2b81040021": "secp224r1" };

/**
 * Why a PEM public key that did not import is refused, when its SPKI names an
 * algorithm we know (RFC 5280 §4.1.2.7: SEQUENCE { SEQUENCE { OID, params }, BIT STRING }).
 * null when it is simply not a key.
 */
function unsupportedSpki(pem: string): string | null {
  const m = /-----BEGIN PUBLIC KEY-----([^-]*)-----END PUBLIC KEY-----/.exec(pem);
  if (m === null) return null;
  const der = Buffer.from(m[1]!.replace(/\s+/g, ""), "base64");
  let at = 0;
  /** Reads one TLV header with tag `tag`; returns the content length, or -1. */
  const header = (tag: number): number => {
    if (der[at] !== tag) return -1;
    let len = der[at + 1] ?? 0;
    at += 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 2) return -1;
      len = 0;
      for (let i = 0; i < n; i++) len = (len << 8) | (der[at++] ?? 0);
    }
    return at + len <= der.length ? len : -1;
  };
  const oid = (): string | null => {
    const len = header(0x06);
    if (len < 0) return null;
    at += len;
    return der.subarray(at - len, at).toString("hex");
  };
  if (header(0x30) < 0 || header(0x30) < 0) return null;
  const alg = oid();
  if (alg === null) return null;
  if (alg === EC_PUBLIC_KEY) {
    const curve = oid();
    return curve === null ? null : unsupportedCurve(EC_CURVE_NAMES[curve] ?? `with OID hex ${curve}`);
  }
  return SPKI_REFUSALS[alg] ?? null;
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
  const object = importJwkObject(jwk);
  const key = typeof object === "string" ? object : fromKeyObject(object);
  if (typeof key === "string") return null;
  const algorithms = algorithmsForKey(key, jwk.alg !== undefined ? [jwk.alg as string] : allowed);
  if (algorithms.length === 0) return null;
  return { kid: (jwk.kid as string | undefined) ?? null, algorithms, key };
}
