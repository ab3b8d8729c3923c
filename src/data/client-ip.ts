import { normalizeIp, type CidrSet } from "../util/cidr.ts";

/**
 * The client's address. X-Forwarded-For is believed only when the peer is a
 * trusted proxy, and then read from the right, skipping further trusted hops
 * (nginx real_ip_recursive): the first untrusted address is the client.
 */
export function clientAddress(trusted: CidrSet, peer: string, xff: string | null): string {
  const ip = normalizeIp(peer);
  if (xff === null || !trusted.has(ip)) return ip;
  const hops = xff.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!.trim();
    if (!hop) continue;
    if (!trusted.has(hop)) return isPlausibleIp(hop) ? normalizeIp(hop) : ip;
  }
  const first = hops[0]!.trim();
  return isPlausibleIp(first) ? normalizeIp(first) : ip;
}

/** Only address characters: a forged XFF entry must not inject text into logs or limiter keys. */
function isPlausibleIp(s: string): boolean {
  if (s.length === 0 || s.length > 45) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46;
    if (!ok) return false;
  }
  return true;
}
