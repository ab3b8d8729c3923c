import type { FastBuffer } from "./request-body.ts";
import { MAX_HEAD_BYTES, parseResponseHead, type ResponseHead } from "./response-head.ts";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** 1xx responses skipped before a final one; more is an upstream loop, not HTTP. */
const MAX_INTERIM = 16;

/**
 * Finds and parses the final response head in the bytes a connection
 * receives, across as many `data` events as it takes, skipping interim 1xx
 * responses (RFC 9110 §15.2: 100 Continue, 103 Early Hints). One per
 * connection, reset for each exchange.
 */
export class HeadReader {
  #part: FastBuffer | null = null;
  #interim = 0;
  /** After a final head: the buffer holding it and where the body starts in it. */
  data: FastBuffer | null = null;
  bodyStart = 0;

  reset(): void {
    this.#part = null;
    this.#interim = 0;
    this.data = null;
  }

  /** The final head, null while more bytes are needed, or why the bytes are not a response. */
  feed(buf: FastBuffer): ResponseHead | null | string {
    let data = buf;
    let from = 0;
    const part = this.#part;
    if (part !== null) {
      this.#part = null;
      // The terminator may straddle the two pieces.
      from = part.length > 3 ? part.length - 3 : 0;
      data = Buffer.concat([part, buf]) as FastBuffer;
    }
    for (;;) {
      const at = data.indexOf(CRLFCRLF, from);
      if (at < 0 || at + 4 > MAX_HEAD_BYTES) {
        if (data.length > MAX_HEAD_BYTES || at >= 0) return "response head too large";
        this.#part = data;
        return null;
      }
      const end = at + 4;
      const head = parseResponseHead(data.latin1Slice(0, end));
      if (typeof head === "string") return head;
      const status = head.status;
      if (status >= 200) {
        this.data = data;
        this.bodyStart = end;
        return head;
      }
      // 101 would switch protocols, which this client never asks for.
      if (status === 101 || ++this.#interim > MAX_INTERIM) return "unexpected 1xx response";
      if (end === data.length) return null;
      data = data.subarray(end) as FastBuffer;
      from = 0;
    }
  }
}
