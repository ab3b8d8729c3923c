/**
 * The interpreted matcher: walks the tree for each lookup. It is the
 * reference the compiled matcher (compile.ts) must agree with, and what a
 * Router uses with `{ compiled: false }`.
 */

import type { MatchState, TreeMatcher } from "./match.ts";
import type { Node, RouteMatch } from "./node.ts";

const SLASH = 47;

export function treeWalker<T>(root: Node<T>, st: MatchState<T>): TreeMatcher<T> {
  // Backtracking stack, reused: node, position, captures so far.
  const stackNode: Node<T>[] = [];
  const stackPos: number[] = [];
  const stackNp: number[] = [];

  /**
   * Depth-first in specificity order: end of path, static child, param,
   * then wildcard. Descending through static children is a loop; a node
   * with a param or wildcard pushes a frame to come back to.
   */
  return function walk(path: string): RouteMatch<T> | null {
    const len = path.length;
    let node = root;
    let pos = 0;
    let np = 0;
    let sp = 0;
    for (;;) {
      for (;;) {
        if (pos === len) {
          if (node.endpoint !== null) {
            const m = st.take(node.endpoint, path, np);
            if (m !== null) return m;
          }
          if (node.wildcard !== null) {
            st.starts[np] = len;
            st.ends[np] = len;
            const m = st.take(node.wildcard, path, np + 1);
            if (m !== null) return m;
          }
          break;
        }
        if (node.param !== null || node.wildcard !== null) {
          stackNode[sp] = node;
          stackPos[sp] = pos;
          stackNp[sp] = np;
          sp++;
        }
        const kid = node.kid(path.charCodeAt(pos));
        if (kid === null || !matchesAt(path, pos, kid.prefix)) break;
        node = kid;
        pos += kid.prefix.length;
      }
      // Back to the deepest frame with an untried param or wildcard.
      for (;;) {
        if (sp === 0) return null;
        const at = stackNode[--sp]!;
        const p = stackPos[sp]!;
        const n = stackNp[sp]!;
        if (at.param !== null) {
          let end = path.indexOf("/", p);
          if (end === -1) end = len;
          if (end > p) {
            st.starts[n] = p;
            st.ends[n] = end;
            node = at.param;
            pos = end;
            np = n + 1;
            break;
          }
        } else if (path.charCodeAt(p) === SLASH) {
          st.starts[n] = p + 1;
          st.ends[n] = len;
          const m = st.take(at.wildcard!, path, n + 1);
          if (m !== null) return m;
        }
      }
    }
  };
}

/** Whether `prefix` occurs in `path` at `pos`; its first char is already known to match. */
function matchesAt(path: string, pos: number, prefix: string): boolean {
  const n = prefix.length;
  if (pos + n > path.length) return false;
  for (let i = 1; i < n; i++) if (path.charCodeAt(pos + i) !== prefix.charCodeAt(i)) return false;
  return true;
}
