import type { AbortLike, UpstreamBody, UpstreamRequestOptions, UpstreamResponse } from "../types.ts";
import type { GatewayError } from "../../errors.ts";
import { aborted } from "./errors.ts";

/** Where one request is in its life. */
export const EX_QUEUED = 0; // waiting for a connection
export const EX_ACTIVE = 1; // on a connection, no response head yet
export const EX_RESPONDED = 2; // head delivered, body still arriving
export const EX_DONE = 3;

/** What an exchange needs from whoever holds it when the client aborts. */
export interface ExchangeHolder {
  abortExchange(ex: Exchange, err: GatewayError): void;
}

/**
 * One request through the pool: its inputs, the promise the caller awaits,
 * and the abort check.
 *
 * The client's AbortSignal is polled (pool sweep, and at the response head),
 * not listened to: on a Bun.serve request signal, addEventListener was the
 * single most expensive call of a proxied request in the profile (see
 * bench/RESULTS.md), and a client that left is noticed within one sweep.
 */
export class Exchange {
  readonly head: string;
  readonly body: UpstreamBody;
  readonly readTimeout: number;
  readonly signal: AbortLike | undefined;
  /** RFC 9112 §6.3 rule 1: a response to HEAD never has a body. */
  readonly isHead: boolean;
  readonly promise: Promise<UpstreamResponse>;
  state = EX_QUEUED;
  /** The connection or pool queue holding it now. */
  holder: ExchangeHolder | null = null;
  /** Already retried once after a stale keep-alive connection. */
  retried = false;
  /** Set while queued: the queue timeout. */
  queueTimer: Timer | null = null;
  #resolve!: (r: UpstreamResponse) => void;
  #reject!: (e: unknown) => void;

  constructor(head: string, body: UpstreamBody, opts: UpstreamRequestOptions) {
    this.head = head;
    this.body = body;
    this.readTimeout = opts.readTimeout;
    this.signal = opts.signal;
    this.isHead = opts.method === "HEAD";
    this.promise = new Promise<UpstreamResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The body can be written again on another connection (it is not a stream). */
  get replayable(): boolean {
    return this.body === null || this.body instanceof Uint8Array;
  }

  respond(res: UpstreamResponse): void {
    this.state = EX_RESPONDED;
    this.#resolve(res);
  }

  /** Reject the caller's promise; only before the head was delivered. */
  fail(err: unknown): void {
    this.finish();
    this.#reject(err);
  }

  /** No more events for this exchange. */
  finish(): void {
    if (this.state === EX_DONE) return;
    this.state = EX_DONE;
    this.holder = null;
  }

  /** If the client went away, abandon the exchange where it is; returns whether it did. */
  checkAbort(): boolean {
    const signal = this.signal;
    if (signal === undefined || !signal.aborted || this.state === EX_DONE) return false;
    this.holder?.abortExchange(this, aborted());
    return true;
  }
}
