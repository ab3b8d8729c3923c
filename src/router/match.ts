/**
 * Per-lookup state shared by both matchers (walk.ts, compile.ts): the
 * method being matched, captured param offsets, and the endpoints that
 * matched the path but not the method (for 405). One instance per Router,
 * reused: `find` is synchronous and never re-entered.
 */

import { allowOf, type Endpoint, type MethodMismatch, type Route, type RouteMatch } from "./node.ts";

/** A compiled or interpreted lookup over one host's tree. */
export type TreeMatcher<T> = (path: string) => RouteMatch<T> | null;

export class MatchState<T> {
  /** Id of the method being matched; -1 when no route names it. */
  mid = -1;
  /** Param i spans path[starts[i], ends[i]); a wildcard is the last one. */
  readonly starts: number[] = [0];
  readonly ends: number[] = [0];
  private mismatched: Endpoint<T> | null = null;
  private moreMismatched: Endpoint<T>[] | null = null;

  begin(mid: number): void {
    this.mid = mid;
    this.mismatched = null;
    if (this.moreMismatched !== null) this.moreMismatched = null;
  }

  /** Makes room for `n` captures. */
  reserve(n: number): void {
    while (this.starts.length < n) {
      this.starts.push(0);
      this.ends.push(0);
    }
  }

  /** The route of `ep` serving the current method, or undefined. */
  accepting(ep: Endpoint<T>): Route<T> | undefined {
    const mid = this.mid;
    const r = mid >= 0 && mid < ep.table.length ? ep.table[mid] : undefined;
    return r !== undefined ? r : ep.any;
  }

  /** The route of `ep` serving the current method, or undefined after noting the mismatch. */
  route(ep: Endpoint<T>): Route<T> | undefined {
    const r = this.accepting(ep);
    if (r === undefined) {
      if (this.mismatched === null) this.mismatched = ep;
      else (this.moreMismatched ??= []).push(ep);
    }
    return r;
  }

  /** The match at `ep` with `np` captures, or null after noting the method mismatch. */
  take(ep: Endpoint<T>, path: string, np: number): RouteMatch<T> | null {
    const r = this.route(ep);
    if (r === undefined) return null;
    if (np === 0) return r.staticMatch!;
    const encoded = path.indexOf("%", this.starts[0]) !== -1;
    return { value: r.value, params: r.buildParams(path, this.starts, this.ends, encoded) };
  }

  /** After a lookup found nothing: the 405 answer, or null for a 404. */
  result(): MethodMismatch | null {
    const first = this.mismatched;
    if (first === null) return null;
    const more = this.moreMismatched;
    if (more === null) return first.mismatch;
    return { value: undefined, allow: allowOf([first, ...more]) };
  }
}
