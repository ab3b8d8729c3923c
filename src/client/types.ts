import type { GatewayError } from "../errors.ts";

/**
 * The forwarding code talks to an upstream target through this interface. Two
 * implementations exist: the pooled HTTP/1.1 client over Bun.connect
 * (src/client/http1/) and one over Bun's fetch (src/client/fetch-client.ts), kept
 * as the reference the pooled one is measured and tested against.
 */
export interface UpstreamResponse {
  status: number;
  statusText: string;
  /** Raw header pairs as received. */
  headers: [string, string][];
  body: ReadableStream<Uint8Array> | null;
  /**
   * The whole body, when it arrived with the head (set by the pooled client for
   * most small responses). Prefer `new Response(res.bodyBytes ?? res.body)`:
   * Bun.serve sends bytes far cheaper than it drains a JS stream, and the pool
   * only builds `body` when it is read.
   */
  bodyBytes?: Uint8Array | null;
  /** Content-Length when known, -1 when chunked or close-delimited. */
  contentLength: number;
}

export type UpstreamBody = ReadableStream<Uint8Array> | Uint8Array | null;

/** What the client reads of an abort signal. */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
}

export interface UpstreamRequestOptions {
  /** ms from request sent to response head, and the longest gap while reading the body. */
  readTimeout: number;
  /** The client's side: polled (`aborted`), never listened to. An AbortSignal fits. */
  signal?: AbortLike;
  method: string;
}

export interface TargetClient {
  /**
   * head: the whole request head, "METHOD /p?q HTTP/1.1\r\n...\r\n\r\n", with
   * Host and the body framing already in it. Rejects with a GatewayError.
   */
  request(head: string, body: UpstreamBody, opts: UpstreamRequestOptions): Promise<UpstreamResponse>;
  close(): void;
}

export type { GatewayError };
