import { constants, createHmac, createPrivateKey, sign as nodeSign, type KeyObject } from "node:crypto";
import * as jose from "jose";
import { b64url } from "./helpers.ts";

/** Key pairs made fresh per test run with jose: real crypto, nothing checked in. */
export interface TestKeyPair {
  alg: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  pem: string;
  jwk: jose.JWK;
}

export async function keyPair(alg: "RS256" | "PS256" | "ES256" | "ES384" | "EdDSA", kid?: string): Promise<TestKeyPair> {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  const jwk = await jose.exportJWK(publicKey);
  if (kid !== undefined) jwk.kid = kid;
  return { alg, privateKey, publicKey, pem: await jose.exportSPKI(publicKey), jwk };
}

export const SECRET = "s3cret-s3cret-s3cret-s3cret-32by"; // exactly 32 bytes

/** Sign claims with jose; `header` defaults to { alg }. */
export function signJwt(
  claims: jose.JWTPayload,
  key: CryptoKey | Uint8Array | string,
  header: jose.JWTHeaderParameters,
  opts?: jose.SignOptions,
): Promise<string> {
  const k = typeof key === "string" ? new TextEncoder().encode(key) : key;
  return new jose.SignJWT(claims).setProtectedHeader(header).sign(k, opts);
}

/** HS256 token with an arbitrary header and raw payload text, for cases jose refuses to produce. */
export function handHs256(header: object | string, payload: object | string, secret: string = SECRET): string {
  const h = b64url(typeof header === "string" ? header : JSON.stringify(header));
  const p = b64url(typeof payload === "string" ? payload : JSON.stringify(payload));
  const sig = createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url");
  return `${h}.${p}.${sig}`;
}

/** RS256 token with an arbitrary header, signed with node:crypto from a jose private key. */
export function handRs256(header: object, payload: object, pair: TestKeyPair): Promise<string> {
  return handRsa("sha256", false, header, payload, pair);
}

/** RSA token (PKCS#1 v1.5 or PSS) with any header and hash: jose keys are bound to one alg, node's are not. */
export async function handRsa(hash: string, pss: boolean, header: object, payload: object, pair: TestKeyPair): Promise<string> {
  const key = createPrivateKey(await jose.exportPKCS8(pair.privateKey));
  const h = b64url(JSON.stringify(header));
  const p = b64url(JSON.stringify(payload));
  const signer = pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : key;
  const sig = nodeSign(hash, Buffer.from(`${h}.${p}`), signer).toString("base64url");
  return `${h}.${p}.${sig}`;
}

const nodeKeys = new WeakMap<TestKeyPair, KeyObject>();
async function nodePrivateKey(pair: TestKeyPair): Promise<KeyObject> {
  let key = nodeKeys.get(pair);
  if (key === undefined) nodeKeys.set(pair, (key = createPrivateKey(await jose.exportPKCS8(pair.privateKey))));
  return key;
}

/**
 * The raw JWS signature (RFC 7518 §3) of `input` under `alg`, with node:crypto:
 * any alg with any key, so tokens can lie about their alg. ECDSA is R || S
 * unless `der` (the encoding JOSE forbids).
 */
export async function signatureBytes(alg: string, key: TestKeyPair | string | Uint8Array, input: string, der = false): Promise<Buffer> {
  const hash = alg === "EdDSA" || alg === "Ed25519" ? null : `sha${alg.slice(2)}`;
  const data = Buffer.from(input);
  if (typeof key === "string" || key instanceof Uint8Array) return createHmac(hash!, key).update(data).digest();
  const k = await nodePrivateKey(key);
  if (alg.startsWith("PS")) return nodeSign(hash, data, { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  if (alg.startsWith("ES")) return nodeSign(hash, data, { key: k, dsaEncoding: der ? "der" : "ieee-p1363" });
  return nodeSign(hash, data, k);
}

/** `h.p.sig` over raw segment text, exactly as given (padding, whitespace and all). */
export async function signSegments(alg: string, key: TestKeyPair | string | Uint8Array, h: string, p: string): Promise<string> {
  return `${h}.${p}.${(await signatureBytes(alg, key, `${h}.${p}`)).toString("base64url")}`;
}
