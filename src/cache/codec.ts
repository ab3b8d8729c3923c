/**
 * Stored entries as bytes for the shared store's `meta` (the body goes in
 * its own bytes, never copied through here). NUL separates fields: it can
 * appear in no header name or value (RFC 9110 §5.5), so no escaping is
 * needed and a hit decodes with one TextDecoder call and one split.
 */
import type { StoredEntry } from "./entry.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const SEP = "\0";
/** Entry format version: a gateway that reads another version's bytes treats them as absent. */
const ENTRY = "e1";
/** A Vary marker: the primary key of a response that varies holds only the field names; variants live under secondary keys. */
const MARKER = "v1";

export function encodeEntry(e: StoredEntry): Uint8Array {
  const parts: (string | number)[] = [ENTRY, e.status, e.responseTime, e.initialAge, e.lifetime, e.flags, e.swr, e.sie, e.vary.join(","), e.tags.join(" ")];
  for (const [k, v] of e.headers) parts.push(k, v);
  return enc.encode(parts.join(SEP));
}

export function encodeMarker(vary: readonly string[]): Uint8Array {
  return enc.encode(`${MARKER}${SEP}${vary.join(",")}`);
}

export type Decoded = { kind: "entry"; entry: StoredEntry } | { kind: "marker"; vary: string[] } | null;

export function decode(meta: Uint8Array): Decoded {
  const p = dec.decode(meta).split(SEP);
  if (p[0] === MARKER) return { kind: "marker", vary: p[1] === "" ? [] : p[1]!.split(",") };
  if (p[0] !== ENTRY || p.length < 10) return null;
  const headers: [string, string][] = [];
  for (let i = 10; i + 1 < p.length; i += 2) headers.push([p[i]!, p[i + 1]!]);
  return {
    kind: "entry",
    entry: {
      status: +p[1]!,
      responseTime: +p[2]!,
      initialAge: +p[3]!,
      lifetime: +p[4]!,
      flags: +p[5]!,
      swr: +p[6]!,
      sie: +p[7]!,
      vary: p[8] === "" ? [] : p[8]!.split(","),
      tags: p[9] === "" ? [] : p[9]!.split(" "),
      headers,
    },
  };
}
