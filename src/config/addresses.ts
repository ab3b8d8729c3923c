/**
 * Listen addresses, upstream target URLs and header names of the config.
 * Each parser returns the parsed value or a message (no key path: the caller
 * adds it).
 */

import { parseIPv4, parseIPv6 } from "../util/cidr.ts";

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
/** RFC 9110 §5.6.2 token (header field names, methods). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export interface ListenAddress {
  /** Without brackets for IPv6 ("::1"), as Bun.serve's hostname wants it. */
  host: string;
  port: number;
}

/** "0.0.0.0:8080", "localhost:80", "[::1]:8080" → host and port (0 = any free port). */
export function parseListen(text: string): ListenAddress | string {
  const expected = `expected "host:port", e.g. "0.0.0.0:8080" or "[::1]:8080", got ${JSON.stringify(text)}`;
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]:");
    if (close === -1) return expected;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (parseIPv6(host) === null) return `invalid IPv6 address "${host}"`;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon === -1) return expected;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return `IPv6 addresses need brackets, e.g. "[::1]:8080"`;
    if (host === "") return expected;
    if (parseIPv4(host) === null && (!HOST_NAME.test(host) || /^[\d.]+$/.test(host))) {
      return `invalid host "${host}"`;
    }
  }
  const port = parsePort(portText);
  if (port === null) return `invalid port "${portText}" (expected 0-65535)`;
  return { host, port };
}

function parsePort(text: string): number | null {
  if (!/^\d{1,5}$/.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

export interface TargetAddress {
  /** Normalized origin: scheme, host and port only, no trailing slash ("http://127.0.0.1:3001"). */
  url: string;
  protocol: "http:" | "https:";
  /** Without brackets for IPv6. */
  host: string;
  /** Explicit or the scheme's default (80, 443). */
  port: number;
}

/** An upstream target: http(s), a host, no credentials, no path beyond "/", no query or fragment. */
export function parseTargetUrl(text: string): TargetAddress | string {
  const shown = JSON.stringify(redactCredentials(text));
  if (!/^https?:\/\//i.test(text)) return `expected an http:// or https:// URL such as "http://127.0.0.1:3001", got ${shown}`;
  const u = URL.parse(text);
  if (u === null) return `invalid URL ${shown}`;
  if (u.hostname === "") return `missing host in ${shown}`;
  if (u.username !== "" || u.password !== "") return "must not contain credentials";
  if ((u.pathname !== "/" && u.pathname !== "") || u.search !== "" || u.hash !== "" || /[?#]/.test(text)) {
    return `must not have a path, query or fragment (a target is scheme://host:port), got ${shown}`;
  }
  const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
  const protocol = u.protocol === "https:" ? "https:" : "http:";
  const port = u.port === "" ? (protocol === "https:" ? 443 : 80) : Number(u.port);
  return { url: u.origin, protocol, host, port };
}

/** An absolute URL with one of `schemes` ("https:") and a host; path and query allowed. */
export function checkUrl(text: string, schemes: readonly string[]): string | null {
  const u = URL.parse(text);
  const listed = schemes.map((s) => `${s}//`).join(" or ");
  const shown = JSON.stringify(redactCredentials(text));
  if (u === null) return `invalid URL ${shown} (expected ${listed})`;
  if (!schemes.includes(u.protocol)) return `expected a URL starting with ${listed}, got ${shown}`;
  if (u.hostname === "") return `missing host in ${shown}`;
  return null;
}

/** "redis://user:secret@h" → "redis://***@h": messages end up in logs. */
export function redactCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, "//***@");
}

/** RFC 9110 §5.6.2: field names and methods are tokens. */
export function isToken(text: string): boolean {
  return TOKEN.test(text);
}
