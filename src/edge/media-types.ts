/**
 * Which media types are worth compressing, compiled once from patterns:
 * "application/json" exact, "text/*" a whole top-level type, "application/*+json"
 * a structured-syntax suffix (RFC 6838 §4.2.8). Parameters (charset) are ignored.
 */
export class MediaTypeSet {
  private readonly exact = new Set<string>();
  private readonly tops: string[] = [];
  private readonly suffixes: [string, string][] = [];

  constructor(patterns: readonly string[]) {
    for (const p of patterns) {
      const slash = p.indexOf("/");
      const top = p.slice(0, slash + 1);
      const sub = p.slice(slash + 1);
      if (sub === "*") this.tops.push(top);
      else if (sub.startsWith("*+")) this.suffixes.push([top, sub.slice(1)]);
      else this.exact.add(p);
    }
  }

  has(contentType: string | null): boolean {
    if (contentType === null) return false;
    const semi = contentType.indexOf(";");
    const essence = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    if (this.exact.has(essence)) return true;
    for (const t of this.tops) if (essence.startsWith(t)) return true;
    for (const [t, s] of this.suffixes) if (essence.startsWith(t) && essence.endsWith(s)) return true;
    return false;
  }
}
