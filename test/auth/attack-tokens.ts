/**
 * Minting helpers for attacks.test.ts: claims, segments and signature
 * surgery. Every token is made from real keys; nothing is checked in.
 */
import type * as jose from "jose";
import { b64url, ISSUER } from "./helpers.ts";
import { signatureBytes, signSegments, type TestKeyPair } from "./keys.ts";

export const CLOCK = Date.UTC(2030, 0, 1);
export const SEC = Math.floor(CLOCK / 1000);
/** 64 bytes: long enough for HS512 (RFC 7518 §3.2). */
export const HS_SECRET = "hs-secret-".repeat(7).slice(0, 64);

export const claims = (extra: jose.JWTPayload = {}): jose.JWTPayload => ({ iss: ISSUER, aud: "api", sub: "user-1", exp: SEC + 3600, ...extra });

export const seg = (v: object | string): string => b64url(typeof v === "string" ? v : JSON.stringify(v));

/** Sign header and claims (objects, or raw JSON text) with any alg and key. */
export function mint(alg: string, key: TestKeyPair | string | Uint8Array, header: object | string, payload: object | string = claims()): Promise<string> {
  return signSegments(alg, key, seg(header), seg(payload));
}

/** The token with its signature segment replaced by `sig` bytes. */
export function withSignature(token: string, sig: Uint8Array): string {
  return `${token.slice(0, token.lastIndexOf(".") + 1)}${Buffer.from(sig).toString("base64url")}`;
}

/** The token's signature bytes. */
export function signatureOf(token: string): Buffer {
  return Buffer.from(token.slice(token.lastIndexOf(".") + 1), "base64url");
}

/** SEC 2 curve orders, as the attacks need r or s = n. */
export const ORDER = {
  "P-256": Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex"),
  "P-384": Buffer.from("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973", "hex"),
};

/** A payload segment whose base64url length is ≡ rem (mod 4) and, optionally, contains "-" or "_". */
export function payloadSegment(rem: number, urlChars = false): string {
  for (let i = 0; ; i++) {
    const s = seg(claims({ n: "?".repeat(i % 7) + ">".repeat(i >> 3) }));
    if ((s.length & 3) === rem && (!urlChars || /[-_]/.test(s))) return s;
  }
}

/** Flip the unused low bits of a segment's last character: same bytes, non-canonical text (RFC 4648 §3.5). */
export function nonCanonical(s: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const v = alphabet.indexOf(s[s.length - 1]!);
  const unused = (s.length & 3) === 2 ? 0x0f : 0x03;
  return s.slice(0, -1) + alphabet[v | unused]!;
}

/** HS256 over raw segments. */
export const hs256Raw = (h: string, p: string, secret: string = HS_SECRET): Promise<string> => signSegments("HS256", secret, h, p);

/** A raw-JSON payload: claims() as text with `extra` members appended (duplicates, odd numbers). */
export function rawClaims(extra: string): string {
  return JSON.stringify(claims()).slice(0, -1) + "," + extra + "}";
}

export { signatureBytes };
