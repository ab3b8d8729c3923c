/**
 * Incremental decoder for the chunked transfer coding, RFC 9112 §7.1:
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *
 * Input arrives in arbitrary pieces; chunk data is handed on as views of the
 * input (no copy). Chunk extensions are skipped (§7.1.1: a recipient MUST
 * ignore extensions it does not understand) and trailer fields are dropped
 * (§7.1.2: they may be discarded), both within size caps.
 */

/** Receives decoded body bytes; views are only valid as long as the input buffer is. */
export interface ChunkSink {
  onBodyData(view: Uint8Array): void;
}

const SIZE_START = 0; // first hex digit of a chunk-size
const SIZE = 1; // more hex digits
const SIZE_BWS = 2; // whitespace after the size, before ";" (BWS)
const EXT = 3; // chunk-ext, skipped up to CR
const SIZE_LF = 4; // LF ending the chunk-size line
const DATA = 5;
const DATA_CR = 6; // CRLF after chunk-data
const DATA_LF = 7;
const TRAILER_START = 8; // start of a trailer line, or the final CRLF
const TRAILER_LINE = 9;
const TRAILER_LINE_LF = 10;
const END_LF = 11;
const DONE = 12;
const FAILED = 13;

/** A chunk size above this is treated as malformed (2^53 - 1 bytes, and no 16+ digit sizes). */
const MAX_SIZE_DIGITS = 13;
/** Chunk extensions on one chunk, and the whole trailer section, are capped. */
const MAX_EXT_BYTES = 4096;
const MAX_TRAILER_BYTES = 64 * 1024;

/** feed() results besides an end offset. */
export const CHUNKED_NEED_MORE = -1;
export const CHUNKED_ERROR = -2;

export class ChunkedDecoder {
  #state = SIZE_START;
  #remaining = 0;
  #digits = 0;
  #extra = 0;
  /** Why decoding failed, for the error's cause. */
  error = "";

  reset(): void {
    this.#state = SIZE_START;
    this.#remaining = 0;
    this.#digits = 0;
    this.#extra = 0;
    this.error = "";
  }

  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Decode `buf[pos..]`. Returns the offset just past the end of the chunked
   * body once it is complete (bytes after it are not part of this message),
   * CHUNKED_NEED_MORE when all input was used and more is needed, or
   * CHUNKED_ERROR (see `error`).
   */
  feed(buf: Uint8Array, pos: number, sink: ChunkSink): number {
    const len = buf.length;
    let state = this.#state;
    while (pos < len) {
      if (state === DATA) {
        const take = Math.min(this.#remaining, len - pos);
        sink.onBodyData(buf.subarray(pos, pos + take));
        pos += take;
        this.#remaining -= take;
        if (this.#remaining === 0) state = DATA_CR;
        continue;
      }
      const c = buf[pos++]!;
      switch (state) {
        case SIZE_START:
        case SIZE: {
          const h = hexValue(c);
          if (h >= 0) {
            if (++this.#digits > MAX_SIZE_DIGITS) return this.#fail("chunk size too large");
            this.#remaining = this.#remaining * 16 + h;
            state = SIZE;
          } else if (state === SIZE_START) {
            return this.#fail("bad chunk size");
          } else if (c === 13) state = SIZE_LF;
          else if (c === 59 /* ; */) {
            this.#extra = 0;
            state = EXT;
          } else if (c === 32 || c === 9) state = SIZE_BWS;
          else return this.#fail("bad chunk size");
          break;
        }
        case SIZE_BWS:
          if (c === 59) {
            this.#extra = 0;
            state = EXT;
          } else if (c === 13) state = SIZE_LF;
          else if (c !== 32 && c !== 9) return this.#fail("bad chunk size");
          break;
        case EXT:
          if (c === 13) state = SIZE_LF;
          else if (c === 10 || c === 0) return this.#fail("bad chunk extension");
          else if (++this.#extra > MAX_EXT_BYTES) return this.#fail("chunk extension too large");
          break;
        case SIZE_LF:
          if (c !== 10) return this.#fail("bad chunk size line");
          this.#digits = 0;
          if (this.#remaining === 0) {
            this.#extra = 0;
            state = TRAILER_START;
          } else state = DATA;
          break;
        case DATA_CR:
          if (c !== 13) return this.#fail("missing CRLF after chunk data");
          state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 10) return this.#fail("missing CRLF after chunk data");
          state = SIZE_START;
          break;
        case TRAILER_START:
          if (c === 13) state = END_LF;
          else if (c === 10 || c === 0) return this.#fail("bad trailer line");
          else {
            if (++this.#extra > MAX_TRAILER_BYTES) return this.#fail("trailer section too large");
            state = TRAILER_LINE;
          }
          break;
        case TRAILER_LINE:
          if (c === 13) state = TRAILER_LINE_LF;
          else if (c === 10 || c === 0) return this.#fail("bad trailer line");
          else if (++this.#extra > MAX_TRAILER_BYTES) return this.#fail("trailer section too large");
          break;
        case TRAILER_LINE_LF:
          if (c !== 10) return this.#fail("bad trailer line");
          state = TRAILER_START;
          break;
        case END_LF:
          if (c !== 10) return this.#fail("bad end of chunked body");
          this.#state = DONE;
          return pos;
      }
    }
    this.#state = state;
    return CHUNKED_NEED_MORE;
  }

  #fail(why: string): number {
    this.error = why;
    this.#state = FAILED;
    return CHUNKED_ERROR;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}
