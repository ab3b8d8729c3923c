/**
 * IP allow-lists (server.trusted_proxies). Compiled once into numeric ranges so
 * a membership test on the request path is a few integer compares.
 */

export interface CidrSet {
  has(ip: string): boolean;
}

interface Range4 { net: number; mask: number }
interface Range6 { net: bigint; mask: bigint }

/** Dotted-quad IPv4 (1-3 digits per part, each ≤ 255) as a uint32, or null. One pass over char codes: it runs per request. */
export function parseIPv4(ip: string): number | null {
  const len = ip.length;
  if (len < 7 || len > 15) return null;
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = ip.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return null;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (++digits > 3) return null;
      part = part * 10 + (c - 48);
      if (part > 255) return null;
    } else return null;
  }
  if (dots !== 3 || digits === 0) return null;
  return (n * 256 + part) >>> 0;
}

export function parseIPv6(ip: string): bigint | null {
  let s = ip;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  // Embedded IPv4 tail (::ffff:1.2.3.4).
  const lastColon = s.lastIndexOf(":");
  let tail: number[] = [];
  if (s.includes(".", lastColon)) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    s = s.slice(0, lastColon + 1) + "0:0";
    tail.length = 2;
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    n = (n << 16n) | BigInt(parseInt(g, 16));
  }
  if (tail.length) n = (n & ~0xffffffffn) | (BigInt(tail[0]!) << 16n) | BigInt(tail[1]!);
  return n;
}

/** "::ffff:10.0.0.1" → "10.0.0.1", so IPv4 rules match dual-stack peers. */
export function normalizeIp(ip: string): string {
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

/** Throws with the offending entry; config validation reports it with its key path. */
export function compileCidrs(entries: readonly string[]): CidrSet {
  const v4: Range4[] = [];
  const v6: Range6[] = [];
  for (const entry of entries) {
    const [addr, bitsText] = entry.split("/");
    const a4 = parseIPv4(addr!);
    if (a4 !== null) {
      const bits = bitsText === undefined ? 32 : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`invalid CIDR "${entry}"`);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      v4.push({ net: (a4 & mask) >>> 0, mask });
      continue;
    }
    const a6 = parseIPv6(addr!);
    if (a6 === null) throw new Error(`invalid IP address or CIDR "${entry}"`);
    const bits = bitsText === undefined ? 128 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`invalid CIDR "${entry}"`);
    const mask = bits === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - bits)) - 1n);
    v6.push({ net: a6 & mask, mask });
  }
  if (v4.length === 0 && v6.length === 0) return { has: () => false };
  return {
    has(ip: string): boolean {
      const n = normalizeIp(ip);
      const a4 = parseIPv4(n);
      if (a4 !== null) {
        for (const r of v4) if (((a4 & r.mask) >>> 0) === r.net) return true;
        return false;
      }
      if (v6.length === 0) return false;
      const a6 = parseIPv6(n);
      if (a6 === null) return false;
      for (const r of v6) if ((a6 & r.mask) === r.net) return true;
      return false;
    },
  };
}
