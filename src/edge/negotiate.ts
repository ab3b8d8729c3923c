/**
 * Accept-Encoding negotiation (RFC 9110 §12.5.3). The client's list of
 * codings with q-values (§12.4.2): q=0 means "not acceptable"; "*" stands for
 * every coding not named; "identity" is acceptable unless refused by
 * "identity;q=0" or by "*;q=0" without naming identity. Among the offered
 * codings the highest q wins and the server's order breaks ties.
 */

export type Coding = "zstd" | "br" | "gzip";
export const CODINGS: readonly Coding[] = ["zstd", "br", "gzip"];

/**
 * The coding to use, or null for identity. `offered` in the server's order of
 * preference. No Accept-Encoding at all: identity, as every deployed server
 * does (§12.5.3 allows any coding, but old clients omit the field because
 * they decode nothing).
 */
export function negotiateEncoding(accept: string | null, offered: readonly Coding[]): Coding | null {
  if (accept === null || offered.length === 0) return null;
  let star = -1;
  // q per offered coding; -1 = not named.
  let q0 = -1, q1 = -1, q2 = -1;
  const n = offered.length;
  for (const item of accept.split(",")) {
    const semi = item.indexOf(";");
    let name = (semi < 0 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip"; // §12.5.3: the same coding
    const q = semi < 0 ? 1 : parseQ(item.slice(semi + 1));
    if (name === "*") star = q;
    else {
      const i = offered.indexOf(name as Coding);
      if (i === 0) q0 = Math.max(q0, q);
      else if (i === 1) q1 = Math.max(q1, q);
      else if (i === 2) q2 = Math.max(q2, q);
    }
  }
  let best: Coding | null = null;
  let bestQ = 0;
  const qs = [q0, q1, q2];
  for (let i = 0; i < n && i < 3; i++) {
    const q = qs[i]! >= 0 ? qs[i]! : star >= 0 ? star : 0;
    if (q > bestQ) {
      bestQ = q;
      best = offered[i]!;
    }
  }
  return best;
}

/**
 * Whether the client refused identity (§12.5.3): "identity;q=0", or "*;q=0"
 * without naming identity. Then a body the server would rather send as it is
 * (under min_size) is encoded when some offered coding is acceptable; when
 * none is, it still goes as identity: §12.1 lets a server disregard the
 * field rather than answer 406, and every deployed gateway does.
 */
export function identityRefused(accept: string | null): boolean {
  if (accept === null) return false;
  let star = -1;
  let identity = -1;
  for (const item of accept.split(",")) {
    const semi = item.indexOf(";");
    const name = (semi < 0 ? item : item.slice(0, semi)).trim().toLowerCase();
    if (name !== "identity" && name !== "*") continue;
    const q = semi < 0 ? 1 : parseQ(item.slice(semi + 1));
    if (name === "identity") identity = Math.max(identity, q);
    else star = Math.max(star, q);
  }
  return identity === 0 || (identity < 0 && star === 0);
}

/** The weight of ";q=0.5" (§12.4.2: 0 to 1, at most three decimals); anything malformed counts as 1, other parameters are ignored. */
function parseQ(params: string): number {
  for (const p of params.split(";")) {
    const eq = p.indexOf("=");
    if (eq < 0 || p.slice(0, eq).trim().toLowerCase() !== "q") continue;
    const v = Number(p.slice(eq + 1).trim());
    if (!Number.isFinite(v) || v < 0 || v > 1) return 1;
    return v;
  }
  return 1;
}
