/**
 * Background refreshes (stale-while-revalidate, RFC 5861 §3) run as a
 * request of the worker's own handler, in process (no socket): the whole
 * route runs as for the client (auth, transforms, upstream), and the cache
 * policy, seeing a request it marked, goes to the origin and stores the
 * answer instead of serving from the cache. The worker registers its
 * handler once (src/data/worker.ts); without one (in-process handler tests)
 * stale entries are served without a refresh.
 */
let handler: ((req: Request) => Response | Promise<Response>) | null = null;
const marked = new WeakSet<Request>();

export function setRefreshHandler(fn: ((req: Request) => Response | Promise<Response>) | null): void {
  handler = fn;
}

export function isRefresh(req: Request): boolean {
  return marked.has(req);
}

/** Replays `req` (a GET) through the worker's handler; false when no handler is registered. */
export function refreshInBackground(req: Request): boolean {
  if (handler === null) return false;
  const headers = new Headers(req.headers);
  // The refresh fetches the full response: the client's conditionals are the client's.
  headers.delete("if-none-match");
  headers.delete("if-modified-since");
  const copy = new Request(req.url, { method: "GET", headers });
  marked.add(copy);
  const h = handler;
  queueMicrotask(async () => {
    try {
      const res = await h(copy);
      await res.body?.cancel();
    } catch {
      // a failed refresh leaves the stale entry; the next request after the window revalidates
    }
  });
  return true;
}
