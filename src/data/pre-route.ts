import type { Server } from "bun";
import type { RequestContext } from "../policies/context.ts";
import type { CidrSet } from "../util/cidr.ts";
import { clientAddress } from "./client-ip.ts";
import { acceptRequestId } from "./request-id.ts";

/**
 * The accept step of the pre-route stage, for every request: the URL parsed
 * once (path, query, host), the request id (the client's kept when sane), the
 * peer and the client address (X-Forwarded-For believed only from trusted
 * proxies). The pre-route policies (PRE_ROUTE in src/policies/index.ts: IP
 * filters, CORS preflight, metrics) then see this context before routing.
 */
export function accept(req: Request, server: Server<undefined>, ridHeader: string, trusted: CidrSet): RequestContext {
  const url = req.url;
  // req.url is "http://host[:port]/path?q", dot-segment normalized by Bun; just "/path?q" when
  // Bun could not use the Host (absent on HTTP/1.0, or invalid: then hostProblem() refuses it).
  const hostStart = url.charCodeAt(0) !== 104 /* "h" */ ? 0 : url.charCodeAt(4) === 115 /* "s" */ ? 8 : 7;
  let pathStart = url.indexOf("/", hostStart);
  if (pathStart < 0) pathStart = url.length;
  const q = url.indexOf("?", pathStart);
  const hostPort = url.slice(hostStart, pathStart);
  const peerIp = server.requestIP(req)?.address ?? "";
  return {
    req,
    method: req.method,
    path: pathStart === url.length ? "/" : q < 0 ? url.slice(pathStart) : url.slice(pathStart, q),
    query: q < 0 ? "" : url.slice(q),
    host: stripPort(hostPort),
    hostPort,
    clientIp: clientAddress(trusted, peerIp, req.headers.get("x-forwarded-for")),
    peerIp,
    requestId: acceptRequestId(req.headers.get(ridHeader)),
    route: null,
    params: NO_PARAMS,
    start: performance.now(),
    identity: null,
    upstreamHeaders: null,
    responseHeaders: null,
    cleanups: null,
    streamedBody: false,
    target: null,
    tries: 0,
    upstreamMs: 0,
    bytesOut: -1,
    trace: null,
    logFields: null,
    pluginView: null,
  };
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function stripPort(hostPort: string): string {
  if (hostPort.charCodeAt(0) === 91 /* "[" */) {
    const end = hostPort.indexOf("]");
    return end < 0 ? hostPort : hostPort.slice(1, end);
  }
  const c = hostPort.lastIndexOf(":");
  return c < 0 ? hostPort : hostPort.slice(0, c);
}
