/**
 * Writing a request to the socket: the head (plus a small body) in one
 * write, and streamed bodies chunk by chunk with backpressure, chunk-encoded
 * when the head says `Transfer-Encoding: chunked` (RFC 9112 §7.1).
 */

import type { UpstreamBody } from "../types.ts";

/** Bun's Buffer has these native fast paths; Node's typings don't list them. */
export interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Write(s: string, offset: number, length: number): number;
  latin1Write(s: string, offset: number, length: number): number;
}

/**
 * One scratch buffer per thread for assembling writes. Safe to share: a
 * socket write copies what it accepts, and whatever it does not accept is
 * copied out before the next use.
 */
export const SCRATCH_SIZE = 64 * 1024;
export const SCRATCH = Buffer.allocUnsafe(SCRATCH_SIZE) as FastBuffer;

/**
 * Put `head` into SCRATCH. Returns its byte length, or -1 when it does not
 * fit or is not pure ASCII (then use encodeHead). For ASCII, UTF-8 is one
 * byte per char, so `written === length` proves ASCII in one native pass.
 */
export function headToScratch(head: string): number {
  if (head.length > SCRATCH_SIZE) return -1;
  const n = SCRATCH.utf8Write(head, 0, SCRATCH_SIZE);
  return n === head.length ? n : -1;
}

/**
 * The head as bytes, for the rare non-ASCII or huge head. Bun hands header
 * values over as latin1 (one char per received byte), so latin1 sends them
 * back byte for byte. A char above U+00FF cannot come from the wire; it is
 * sent as UTF-8, which never produces a CR, LF or NUL byte for it, whereas
 * latin1 would truncate U+010A to LF and allow header injection.
 */
export function encodeHead(head: string): Uint8Array {
  for (let i = 0; i < head.length; i++) {
    if (head.charCodeAt(i) > 0xff) return Buffer.from(head, "utf8");
  }
  return Buffer.from(head, "latin1");
}

/**
 * Whether the head ends the body framing with chunked. The caller sets
 * either Content-Length or `Transfer-Encoding: chunked` (the only coding a
 * gateway may apply without a TE request header, RFC 9112 §6.1).
 */
export function headSaysChunked(head: string): boolean {
  // Header names are case-insensitive; the caller writes them lower-case, but check both spellings cheaply.
  return head.includes("\r\ntransfer-encoding: chunked\r\n") || /\r\ntransfer-encoding:[ \t]*chunked[ \t]*\r\n/i.test(head);
}

/** What the pump needs from the connection. */
export interface BodyWriter {
  /** Write bytes; false when some were queued and `drained()` must be awaited. `copy`: the bytes are in SCRATCH. */
  write(buf: Uint8Array, off: number, len: number, copy: boolean): boolean;
  /** Resolves when the queued bytes went out, or the connection died (then `isCurrent` is false). */
  drained(): Promise<void>;
  /** The exchange is still the connection's current one and the socket is open. */
  isCurrent(token: object): boolean;
  /** Every byte of the request went out. */
  requestSent(token: object): void;
  /** Reading the client's body failed. */
  bodyFailed(token: object, err: unknown): void;
}

/** What sendRequest needs besides writing. */
export interface RequestSink extends BodyWriter {
  /** The fixed body (or none) went out whole. */
  markSent(): void;
  /** A stream body is being pumped; the pump reports its end with requestSent. */
  startStreaming(reader: ReadableStreamDefaultReader<Uint8Array>): void;
}

/**
 * Write a request: head and a small body in one write from SCRATCH (one
 * syscall, one segment), a large body after the head, a stream through the
 * pump. Backpressure is the sink's: what the socket does not take waits for
 * drain.
 */
export function sendRequest(sink: RequestSink, ex: { readonly head: string; readonly body: UpstreamBody }): void {
  const head = ex.head;
  const body = ex.body;
  const n = headToScratch(head);
  if (body === null || body instanceof Uint8Array) {
    const len = body === null ? 0 : body.byteLength;
    let flushed: boolean;
    if (n >= 0 && n + len <= SCRATCH_SIZE) {
      if (len > 0) SCRATCH.set(body!, n);
      flushed = sink.write(SCRATCH, 0, n + len, true);
    } else {
      const h = n >= 0 ? SCRATCH : encodeHead(head);
      flushed = sink.write(h, 0, n >= 0 ? n : h.length, n >= 0);
      if (len > 0) flushed = sink.write(body!, 0, len, false) && flushed;
    }
    if (flushed) sink.markSent();
    return;
  }
  const h = n >= 0 ? SCRATCH : encodeHead(head);
  sink.write(h, 0, n >= 0 ? n : h.length, n >= 0);
  const reader = body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  sink.startStreaming(reader);
  void pumpBody(sink, ex, reader, headSaysChunked(head));
}

const LAST_CHUNK = Buffer.from("0\r\n\r\n");

/**
 * Copy a streamed request body to the socket, one chunk at a time, waiting
 * for `drain` whenever the socket pushes back. Stops (and cancels the reader)
 * when the exchange ends early, e.g. the upstream answered before reading it.
 */
export async function pumpBody(
  w: BodyWriter,
  token: object,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  chunked: boolean,
): Promise<void> {
  try {
    for (;;) {
      const r = await reader.read();
      if (!w.isCurrent(token)) break;
      if (r.done) {
        if (chunked && !w.write(LAST_CHUNK, 0, LAST_CHUNK.length, false)) await w.drained();
        if (w.isCurrent(token)) w.requestSent(token);
        return;
      }
      const chunk = r.value;
      const n = chunk.byteLength;
      if (n === 0) continue; // a zero-size chunk would end a chunked body
      let flushed: boolean;
      if (chunked) flushed = writeChunk(w, chunk, n);
      else flushed = w.write(chunk, 0, n, false);
      if (!flushed) {
        await w.drained();
        if (!w.isCurrent(token)) break;
      }
    }
  } catch (err) {
    if (w.isCurrent(token)) w.bodyFailed(token, err);
    return;
  }
  reader.cancel().catch(ignore);
}

/** chunk-size CRLF chunk-data CRLF; one write when it fits in SCRATCH. */
function writeChunk(w: BodyWriter, chunk: Uint8Array, n: number): boolean {
  const line = `${n.toString(16)}\r\n`;
  if (n + line.length + 2 <= SCRATCH_SIZE) {
    let at = SCRATCH.latin1Write(line, 0, SCRATCH_SIZE);
    SCRATCH.set(chunk, at);
    at += n;
    SCRATCH[at++] = 13;
    SCRATCH[at++] = 10;
    return w.write(SCRATCH, 0, at, true);
  }
  const lineBytes = Buffer.from(line, "latin1");
  const a = w.write(lineBytes, 0, lineBytes.length, false);
  const b = w.write(chunk, 0, n, false);
  const c = w.write(CRLF, 0, 2, false);
  return a && b && c;
}

const CRLF = Buffer.from("\r\n");

function ignore(): void {}
