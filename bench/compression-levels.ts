/**
 * Compression cost per algorithm and level on a typical JSON API answer
 * (10 KB and 100 KB: a list of objects with ids, names, flags, timestamps),
 * through the same calls the gateway makes (src/edge/compress.ts). Prints
 * ratio, MB/s and µs per KB of input; the defaults (DEFAULT_LEVELS) were
 * chosen from these figures. Short on purpose: `bun bench/compression-levels.ts`.
 */
import { compressBytes } from "../src/edge/compress.ts";
import type { Coding } from "../src/edge/negotiate.ts";

function jsonBody(items: number): Uint8Array {
  const rows = Array.from({ length: items }, (_, i) => ({
    id: 100000 + i,
    name: `user-${i}`,
    email: `user${i}@example.com`,
    active: i % 3 !== 0,
    roles: i % 5 === 0 ? ["admin", "user"] : ["user"],
    created_at: new Date(1_700_000_000_000 + i * 3_600_000).toISOString(),
    score: Math.round(Math.sin(i) * 1000) / 10,
  }));
  return new TextEncoder().encode(JSON.stringify({ items: rows, total: items, next: null }));
}

const LEVELS: Record<Coding, number[]> = { gzip: [1, 3, 5, 6, 9], br: [1, 3, 4, 5, 6, 11], zstd: [1, 3, 6, 9, 19] };

for (const body of [jsonBody(60), jsonBody(600)]) {
  console.log(`\nbody ${(body.length / 1024).toFixed(1)} KiB`);
  console.log("coding level  ratio   MB/s  us/KB");
  for (const coding of ["gzip", "br", "zstd"] as Coding[]) {
    for (const level of LEVELS[coding]) {
      let out = compressBytes(coding, body, level);
      const budget = 300; // ms per cell
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < budget) {
        out = compressBytes(coding, body, level);
        n++;
      }
      const ms = (performance.now() - t0) / n;
      const mbs = body.length / 1e6 / (ms / 1000);
      console.log(`${coding.padEnd(6)} ${String(level).padStart(5)} ${(body.length / out.length).toFixed(2).padStart(6)} ${mbs.toFixed(0).padStart(6)} ${((ms * 1000) / (body.length / 1024)).toFixed(2).padStart(6)}`);
    }
  }
}
