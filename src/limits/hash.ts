/**
 * A 64-bit key hash computed as two independent 32-bit lanes, fed part by part
 * so a request's key is hashed without building the key string. Bun.hash
 * returns a BigInt for 64-bit output, which costs more than the whole
 * decision budget (~100 ns to split); this stays in int32 arithmetic.
 *
 * Lane A is FNV-1a; lane B multiplies by a murmur constant and rotates, so a
 * collision in one lane is independent of the other. Both are finished with
 * murmur3's fmix32. Seeds come from the slot table (random per process unless
 * Redis sync needs every instance to agree), which makes offline collision
 * search against a running gateway impractical.
 *
 * State lives in the exported `keyHash` object: one per thread, zero allocation.
 */

export const keyHash = { a: 0, b: 0 };

export function hashStart(seedA: number, seedB: number): void {
  keyHash.a = seedA;
  keyHash.b = seedB;
}

/** Feed one code unit (a tag or a length). */
export function hashUnit(c: number): void {
  keyHash.a = Math.imul(keyHash.a ^ c, 0x01000193);
  const b = Math.imul(keyHash.b ^ c, 0x85ebca6b);
  keyHash.b = (b << 13) | (b >>> 19);
}

/** Feed a string, length first, so ("ab","c") and ("a","bc") differ. */
export function hashString(s: string): void {
  const n = s.length;
  let a = Math.imul(keyHash.a ^ n, 0x01000193);
  let b = Math.imul(keyHash.b ^ n, 0x85ebca6b);
  b = (b << 13) | (b >>> 19);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x85ebca6b);
    b = (b << 13) | (b >>> 19);
  }
  keyHash.a = a;
  keyHash.b = b;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** Finish: keyHash.a / keyHash.b hold the 64-bit hash, never both zero. */
export function hashFinish(): void {
  const a = fmix32(keyHash.a ^ Math.imul(keyHash.b, 0x27d4eb2f));
  let b = fmix32(keyHash.b);
  if (a === 0 && b === 0) b = 1;
  keyHash.a = a;
  keyHash.b = b;
}

/** Hash state after feeding `s` from the table seeds: the per-limit starting point, computed at compile. */
export function seedFor(seedA: number, seedB: number, s: string): [number, number] {
  hashStart(seedA, seedB);
  hashString(s);
  return [keyHash.a, keyHash.b];
}

/** Whole-string hash (tests, bench, the sync loop's debugging). */
export function hashKey(seedA: number, seedB: number, s: string): [number, number] {
  hashStart(seedA, seedB);
  hashString(s);
  hashFinish();
  return [keyHash.a, keyHash.b];
}

/** 16 hex digits of a 64-bit hash: the Redis key suffix in sync mode. */
export function hashHex(a: number, b: number): string {
  return (b >>> 0).toString(16).padStart(8, "0") + (a >>> 0).toString(16).padStart(8, "0");
}
