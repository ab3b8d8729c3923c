/**
 * `server.tls`, `server.http2` and `server.hsts`: raw → normalized.
 *
 * `tls` is one table `{ cert, key }` (the first version's form, still
 * accepted) or a list of them, each with `hosts`, the SNI names it serves
 * (RFC 6066 §3). The FIRST certificate is the default: it answers a client
 * that sends no SNI (an IP-address URL, an old client) or a name no entry
 * lists, which is what Bun.serve does with the first entry of its `tls` array
 * and what nginx does with its first `server` on a port. Every later entry
 * must list hosts, or it could never be chosen. A name may appear once:
 * Bun would silently let the later entry win.
 *
 * Here only shapes, paths and names are checked; whether the files hold a
 * usable certificate and key, whether they fit, and whether the certificate
 * covers its hosts is checked by verify-tls.ts, at --check, start and reload.
 */

import { isIP } from "node:net";
import { type NormalizeContext, present, readDuration, resolveReadableFile } from "./normalize-common.ts";
import type { KeyPath } from "./problems.ts";
import type { Loose, RawServer } from "./schema.ts";
import type { HstsConfig, TlsCertificate } from "./types.ts";

/** One DNS label (RFC 1123 §2.1): letters, digits, hyphens, not at either end; IDNs as A-labels (xn--). */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * TLS 1.2 suites with forward secrecy and AEAD only (Mozilla's "intermediate"
 * profile minus DHE, which BoringSSL does not offer). Bun's own default also
 * accepts static-RSA key exchange and CBC-SHA1 suites (measured on 1.4.5:
 * AES128-SHA, AES256-GCM-SHA384, ECDHE-RSA-AES128-SHA, ... all negotiate).
 */
export const TLS_DEFAULT_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** A certificate table after the schema check: offending values removed. */
type RawCertificate = { cert?: string; key?: string; hosts?: (string | undefined)[] };

/** RFC 6797 §6.1.1: max-age in seconds. One year, the HSTS preload list's minimum, when not given. */
export const HSTS_DEFAULT_MAX_AGE = 365 * 24 * 3600;

export function normalizeTls(ctx: NormalizeContext, raw: Loose<RawServer>["tls"]): TlsCertificate[] | null {
  if (raw === undefined) return null;
  const entries: [RawCertificate, KeyPath][] = Array.isArray(raw)
    ? present(raw as (RawCertificate | undefined)[]).map(([entry, i]) => [entry, ["server", "tls", i]])
    : [[raw as RawCertificate, ["server", "tls"]]];
  const owner = new Map<string, string>();
  const out: TlsCertificate[] = [];
  entries.forEach(([entry, path], n) => {
    const e = entry;
    const cert = e.cert === undefined ? "" : resolveReadableFile(ctx, e.cert, [...path, "cert"]);
    const key = e.key === undefined ? "" : resolveReadableFile(ctx, e.key, [...path, "key"]);
    const hosts: string[] = [];
    for (const [name, j] of present(e.hosts)) {
      const at: KeyPath = [...path, "hosts", j];
      const host = sniName(name);
      const problem = hostProblem(host);
      if (problem !== null) {
        ctx.problems.add(at, problem);
        continue;
      }
      const first = owner.get(host);
      if (first !== undefined) {
        ctx.problems.add(at, `${JSON.stringify(host)} is already served by ${first}`);
        continue;
      }
      owner.set(host, formatEntry(path));
      hosts.push(host);
    }
    if (n > 0 && hosts.length === 0 && (e.hosts === undefined || e.hosts.length === 0)) {
      ctx.problems.add([...path, "hosts"], "required on every certificate but the first (the first is the default for clients without SNI or with an unlisted name)");
    }
    out.push({ cert, key, hosts });
  });
  return out;
}

/** How SNI names compare: case-insensitively, a trailing dot ignored (RFC 6066 §3, RFC 4343). */
export function sniName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}

function hostProblem(host: string): string | null {
  if (isIP(host) !== 0 || host.startsWith("[")) return "an IP address is never sent as SNI (RFC 6066 §3); the first certificate answers such clients";
  const labels = host.split(".");
  const wildcard = labels[0] === "*";
  if (wildcard && labels.length < 3) return `expected "*.<domain>" with at least two labels after "*", got ${JSON.stringify(host)}`;
  for (let i = wildcard ? 1 : 0; i < labels.length; i++) {
    if (!LABEL.test(labels[i]!)) {
      return `expected a host name such as "api.example.com" or "*.example.com" ("*" only as the whole first label), got ${JSON.stringify(host)}`;
    }
  }
  return null;
}

function formatEntry(path: KeyPath): string {
  return path.length === 3 ? `server.tls[${path[2]}]` : "server.tls";
}

export function normalizeHsts(
  ctx: NormalizeContext,
  raw: Loose<RawServer>["hsts"],
  tls: TlsCertificate[] | null,
): HstsConfig | null {
  if (raw === undefined) return null;
  const at = (key: string): KeyPath => ["server", "hsts", key];
  // RFC 6797 §7.2: a server must not send the header over plain HTTP, and a UA ignores it there.
  if (tls === null) ctx.problems.add(["server", "hsts"], "needs server.tls: Strict-Transport-Security is only sent over TLS (RFC 6797 §7.2)");
  const ms = readDuration(ctx, raw.max_age, at("max_age"), HSTS_DEFAULT_MAX_AGE * 1000);
  const max_age = Math.floor(ms / 1000);
  const include_subdomains = raw.include_subdomains ?? false;
  const preload = raw.preload ?? false;
  if (preload) {
    // What the preload list accepts (hstspreload.org): a browser would refuse the submission otherwise.
    if (!include_subdomains) ctx.problems.add(at("preload"), "needs include_subdomains = true (the HSTS preload list requires it)");
    if (max_age < HSTS_DEFAULT_MAX_AGE) ctx.problems.add(at("preload"), 'needs max_age of at least "365d" (the HSTS preload list requires it)');
  }
  let header = `max-age=${max_age}`;
  if (include_subdomains) header += "; includeSubDomains";
  if (preload) header += "; preload";
  return { max_age, include_subdomains, preload, header };
}
