import type { Socket } from "bun";

/**
 * Writes to a Bun socket, which does not buffer: `write` returns how many
 * bytes the kernel took. What it did not take is queued here (copied when it
 * lives in the shared scratch buffer) and written on `drain`, in order.
 */
export class WriteQueue {
  #pending: Uint8Array[] | null = null;
  #waiter: (() => void) | null = null;

  get empty(): boolean {
    return this.#pending === null;
  }

  /** True when all of it went out now; false when some of it waits for drain (or the socket is gone). */
  write(socket: Socket<unknown> | null, buf: Uint8Array, off: number, len: number, copy: boolean): boolean {
    if (this.#pending !== null) {
      this.#pending.push(copy ? buf.slice(off, off + len) : buf.subarray(off, off + len));
      return false;
    }
    if (socket === null) return false;
    const w = socket.write(buf, off, len);
    if (w === len) return true;
    // -1: closed; the close event follows and settles the exchange. Else keep what is left.
    const from = off + (w > 0 ? w : 0);
    this.#pending = [copy ? buf.slice(from, off + len) : buf.subarray(from, off + len)];
    return false;
  }

  /** On drain: write what is queued; true once the queue is empty (and a waiter was woken). */
  flush(socket: Socket<unknown>): boolean {
    const q = this.#pending;
    if (q === null) return false;
    while (q.length > 0) {
      const b = q[0]!;
      const n = socket.write(b);
      if (n < b.length) {
        if (n > 0) q[0] = b.subarray(n);
        return false;
      }
      q.shift();
    }
    this.#pending = null;
    this.wake();
    return true;
  }

  /** Resolves when the queue empties, or when `wake()` is called because the socket died. */
  drained(): Promise<void> {
    if (this.#pending === null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#waiter = resolve;
    });
  }

  get waiting(): boolean {
    return this.#waiter !== null;
  }

  wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    if (w !== null) w();
  }

  clear(): void {
    this.#pending = null;
    this.wake();
  }
}
