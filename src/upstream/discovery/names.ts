import { parseIPv4, parseIPv6 } from "../../util/cidr.ts";

/**
 * Whether a target host is a name for DNS discovery: not an IP literal, and
 * not `localhost` or a name under it, which RFC 6761 §6.3 keeps out of DNS
 * (the system resolver answers them, as it does today at connect).
 */
export function isDiscoverableHost(host: string): boolean {
  if (parseIPv4(host) !== null || parseIPv6(host) !== null) return false;
  const h = host.toLowerCase().replace(/\.$/, "");
  return h !== "localhost" && !h.endsWith(".localhost");
}

export function isIpLiteral(host: string): boolean {
  return parseIPv4(host) !== null || parseIPv6(host) !== null;
}

/** "http://10.0.0.1:3001", "http://[::1]:3001": the URL a discovered address is known by (metrics, admin, state carry-over). */
export function addressUrl(protocol: string, address: string, port: number): string {
  return `${protocol}//${address.includes(":") ? `[${address}]` : address}:${port}`;
}
