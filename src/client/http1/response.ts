import type { UpstreamResponse } from "../types.ts";

/**
 * What the pool resolves with. When the whole body came in with the head
 * (most small responses), `bodyBytes` holds it and the `body` stream is only
 * built if someone asks for it: `new Response(bytes)` costs Bun.serve far
 * less than draining a JS ReadableStream (bench/RESULTS.md, "Upstream
 * client"), so callers should prefer `bodyBytes ?? body`.
 */
export class PooledResponse implements UpstreamResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: [string, string][];
  readonly contentLength: number;
  readonly bodyBytes: Uint8Array | null;
  #stream: ReadableStream<Uint8Array> | null;

  constructor(
    status: number,
    statusText: string,
    headers: [string, string][],
    contentLength: number,
    bodyBytes: Uint8Array | null,
    stream: ReadableStream<Uint8Array> | null,
  ) {
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    this.contentLength = contentLength;
    this.bodyBytes = bodyBytes;
    this.#stream = stream;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#stream === null && this.bodyBytes !== null) this.#stream = new ReadableStream<Uint8Array>(new FinishedBody(this.bodyBytes));
    return this.#stream;
  }
}

/** A stream that is one chunk and already closed. */
class FinishedBody implements Bun.UnderlyingSource<Uint8Array> {
  readonly #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  start(c: ReadableStreamDefaultController<Uint8Array>): void {
    c.enqueue(this.#bytes);
    c.close();
  }
}

/** Collects the views of a chunked body decoded from the first packet. */
export class ChunkCollector {
  parts: Uint8Array[] = [];
  bytes = 0;
  onBodyData(view: Uint8Array): void {
    this.parts.push(view);
    this.bytes += view.length;
  }
  /** All parts as one array (no copy for the usual single chunk). */
  join(): Uint8Array {
    const p = this.parts;
    if (p.length === 1) return p[0]!;
    const out = new Uint8Array(this.bytes);
    let at = 0;
    for (const v of p) {
      out.set(v, at);
      at += v.length;
    }
    return out;
  }
}
