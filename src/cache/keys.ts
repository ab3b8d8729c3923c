/**
 * Cache keys (RFC 9111 §2, §4.1). The primary key is the target URI (then
 * the route, so two routes on one URL told apart by `match` never share an
 * entry): `http://host:port/path?query` NUL route. The URI comes first so a
 * purge or an invalidation of a URL is one prefix delete covering every
 * route and every Vary variant of it.
 *
 * A response that varies is stored under a secondary key: the primary, NUL,
 * then each Vary-named request field, normalised (§4.1: combined lines,
 * whitespace around commas removed; Accept-Encoding lower-cased and its
 * codings sorted, since their order carries no meaning, RFC 9110 §12.5.3).
 */

export function primaryKey(uri: string, route: string): string {
  return `${uri}\0${route}`;
}

/** The target URI a primary or secondary key starts with. */
export function uriOfKey(key: string): string {
  const end = key.indexOf("\0");
  return end < 0 ? key : key.slice(0, end);
}

/** The prefix every key of `uri` starts with (all routes, all variants). */
export function uriPrefix(uri: string): string {
  return `${uri}\0`;
}

const ABSENT = "\u0002";

export function normaliseField(name: string, value: string | null): string {
  if (value === null) return ABSENT;
  const parts = value.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  if (name === "accept-encoding") return parts.map((s) => s.toLowerCase().replace(/\s+/g, "")).sort().join(",");
  return parts.join(",");
}

export function secondaryKey(primary: string, vary: readonly string[], get: (name: string) => string | null): string {
  let key = `${primary}\0`;
  for (let i = 0; i < vary.length; i++) key += (i === 0 ? "" : "\u0001") + normaliseField(vary[i]!, get(vary[i]!));
  return key;
}

/** The absolute URI a request targets: the scheme the gateway serves, the Host as sent (lower-cased), the raw path and query. */
export function targetUri(scheme: "http" | "https", hostPort: string, path: string, query: string): string {
  return `${scheme}://${hostPort.toLowerCase()}${path}${query}`;
}
