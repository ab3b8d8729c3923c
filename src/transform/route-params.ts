/** The param names of a route path ("/users/:id/*" → ["id", "*"]), for checking templates at load. */
export function routeParamNames(routePath: string): string[] {
  const out: string[] = [];
  for (const seg of routePath.split("/")) {
    if (seg.startsWith(":") && seg.length > 1) out.push(seg.slice(1));
    else if (seg === "*") out.push("*");
  }
  return out;
}

/** A body type the JSON edits apply to: application/json or any "+json" type (RFC 6839 §3.1). */
export function isJsonType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semi = contentType.indexOf(";");
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}
