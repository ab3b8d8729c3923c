/**
 * The response body as a ReadableStream fed by socket `data` events.
 *
 * Backpressure: when the stream's queue passes its high-water mark the socket
 * is paused, and `pull` (the consumer wants more) resumes it, so a slow client
 * never makes the gateway buffer a whole upstream body.
 */

/** What the body needs from its connection. */
export interface BodyOwner {
  /** The consumer wants more: resume reading the socket if it was paused. */
  resumeBody(): void;
  /** The consumer cancelled (client gone, or a retry discarding the response): the connection cannot be reused. */
  cancelBody(reason: unknown): void;
}

/** Queue up to 64 KiB of body bytes before pausing the upstream socket. */
const BODY_HIGH_WATER = 64 * 1024;

function byteLength(chunk?: Uint8Array): number {
  return chunk!.byteLength;
}

/** Byte-counting strategy, shared by every body (no per-response closures). */
export const BODY_STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: BODY_HIGH_WATER, size: byteLength };

export class BodySource implements Bun.UnderlyingSource<Uint8Array> {
  /** Null once the body is complete, failed or cancelled: later events are ignored. */
  owner: BodyOwner | null;
  controller: ReadableStreamDefaultController<Uint8Array> | null = null;

  constructor(owner: BodyOwner) {
    this.owner = owner;
  }

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
  }

  pull(): void {
    this.owner?.resumeBody();
  }

  cancel(reason: unknown): void {
    const owner = this.owner;
    this.owner = null;
    owner?.cancelBody(reason);
  }

  /** Queue bytes; returns false when the queue is full and reading should pause. */
  push(view: Uint8Array): boolean {
    const c = this.controller!;
    c.enqueue(view);
    return c.desiredSize! > 0;
  }

  close(): void {
    this.owner = null;
    this.controller!.close();
  }

  error(err: unknown): void {
    this.owner = null;
    this.controller!.error(err);
  }
}
