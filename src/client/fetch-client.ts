import { GatewayError } from "../errors.ts";
import type { TargetClient, UpstreamBody, UpstreamRequestOptions, UpstreamResponse } from "./types.ts";

/**
 * TargetClient over Bun's fetch. Simple and correct, but slower than the pooled
 * client (see bench/RESULTS.md); selectable with GATEWAY_UPSTREAM_CLIENT=fetch
 * to compare the two on the same build.
 */
export class FetchClient implements TargetClient {
  readonly #origin: string;
  readonly #connectTimeout: number;

  constructor(origin: string, connectTimeout: number) {
    this.#origin = origin;
    this.#connectTimeout = connectTimeout;
  }

  async request(head: string, body: UpstreamBody, opts: UpstreamRequestOptions): Promise<UpstreamResponse> {
    const lines = head.split("\r\n");
    const [method, target] = lines[0]!.split(" ");
    const headers: [string, string][] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line) continue;
      const c = line.indexOf(":");
      const name = line.slice(0, c);
      // fetch frames the body itself.
      if (/^(content-length|transfer-encoding)$/i.test(name)) continue;
      headers.push([name, line.slice(c + 1).trim()]);
    }
    const timeout = AbortSignal.timeout(opts.readTimeout + this.#connectTimeout);
    // fetch needs a real AbortSignal; a lazy abort view (forward.ts) is not linked.
    const signal = opts.signal instanceof AbortSignal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(this.#origin + target, {
        method,
        headers,
        body,
        signal,
        redirect: "manual",
        decompress: false,
        // Stream request bodies (Fetch standard; Bun accepts it).
        duplex: "half",
      } as RequestInit);
    } catch (cause) {
      if (timeout.aborted) throw new GatewayError("upstream_timeout", 504, "upstream timed out", { source: "upstream", cause });
      const code = (cause as { code?: string })?.code ?? "";
      const refused = code === "ConnectionRefused" || code === "ECONNREFUSED" || code === "FailedToOpenSocket";
      throw new GatewayError("upstream_unreachable", 502, "upstream connection failed", {
        source: "upstream",
        retryable: refused,
        cause,
      });
    }
    const pairs: [string, string][] = [];
    res.headers.forEach((v, k) => {
      if (k !== "set-cookie") pairs.push([k, v]);
    });
    for (const c of res.headers.getSetCookie()) pairs.push(["set-cookie", c]);
    const cl = res.headers.get("content-length");
    return {
      status: res.status,
      statusText: res.statusText,
      headers: pairs,
      body: res.body,
      contentLength: cl === null ? -1 : Number(cl),
    };
  }

  close(): void {}
}
