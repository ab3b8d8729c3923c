/**
 * Route conditions beyond host, path and method (`match`): request header and
 * query values. Several routes on one path may differ only in their
 * conditions (`Accept-Version: 2` to a v2 upstream, a canary by header); the
 * router finds the path's candidates, then the first whose conditions all
 * hold wins, candidates ordered by how many conditions they have (most
 * first), a route without conditions last. Compiled at load; a path whose
 * routes have no conditions never runs this.
 *
 * A condition on a name is one of:
 *   values   the value (headers: the whole field value, trimmed; query: the
 *            first parameter of that name, decoded) equals one of these
 *   present  the field or parameter is there, whatever its value
 *   absent   it is not there
 */

export type Condition =
  | { readonly kind: "values"; readonly name: string; readonly values: readonly string[] }
  | { readonly kind: "present"; readonly name: string }
  | { readonly kind: "absent"; readonly name: string };

export interface RouteConditions {
  /** Header names lower-cased. */
  readonly headers: readonly Condition[];
  readonly query: readonly Condition[];
}

/** The small view of a request the conditions read. */
export interface ConditionView {
  header(name: string): string | null;
  query(name: string): string | null;
}

export function conditionCount(c: RouteConditions | null): number {
  return c === null ? 0 : c.headers.length + c.query.length;
}

export function conditionsHold(c: RouteConditions, view: ConditionView): boolean {
  for (const cond of c.headers) if (!holds(cond, view.header(cond.name))) return false;
  for (const cond of c.query) if (!holds(cond, view.query(cond.name))) return false;
  return true;
}

function holds(c: Condition, value: string | null): boolean {
  switch (c.kind) {
    case "present":
      return value !== null;
    case "absent":
      return value === null;
    case "values":
      if (value === null) return false;
      return c.values.includes(value.trim());
  }
}

/** A stable text of the conditions, so two routes with the same ones are found to clash at load. */
export function conditionsKey(c: RouteConditions | null): string {
  if (c === null) return "";
  const one = (x: Condition) => `${x.name}:${x.kind === "values" ? [...x.values].sort().join("|") : x.kind}`;
  return `h[${c.headers.map(one).sort().join(",")}]q[${c.query.map(one).sort().join(",")}]`;
}

/** Routes with the same key share one router entry (their variants are told apart by conditions). */
export function variantKey(route: { readonly hosts: readonly string[]; readonly methods: readonly string[]; readonly path: string }): string {
  return `${[...route.hosts].map((h) => h.toLowerCase()).sort().join(",")} ${[...route.methods].sort().join(",")} ${route.path}`;
}
