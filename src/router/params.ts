/**
 * Params objects: built only on a hit whose route has params, from the
 * offsets the matcher captured (walk.ts; compile.ts inlines the same literal
 * into its own builders).
 *
 * A route's builder is generated once, on first use, and returns an object
 * literal with the route's names as fixed keys: one allocation of a known
 * shape, where filling `{}` key by key costs ~5x more (measured in JSC).
 * Names are validated [A-Za-z0-9_]+ and emitted through JSON.stringify, as
 * computed keys, so a param named "__proto__" is an own property rather than
 * the prototype.
 */

/** (path, starts, ends, encoded) → params; `encoded` says whether any "%" may need decoding. */
export type ParamsBuilder = (path: string, starts: readonly number[], ends: readonly number[], encoded: boolean) => Record<string, string>;

export function paramsBuilder(names: readonly string[]): ParamsBuilder {
  const fields = (wrap: (v: string) => string) =>
    names.map((n, i) => `[${JSON.stringify(n)}]: ${wrap(`p.slice(s[${i}], e[${i}])`)}`).join(", ");
  const src = `return function buildParams(p, s, e, encoded) {
    return encoded ? { ${fields((v) => `decode(${v})`)} } : { ${fields((v) => v)} };
  };`;
  return new Function("decode", src)(decodeParam) as ParamsBuilder;
}

/** Percent-decodes a param; a malformed escape or invalid UTF-8 leaves the raw text (a 404 beats a 500). */
export function decodeParam(raw: string): string {
  if (raw.indexOf("%") === -1) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
