/**
 * Content codings through Bun's node:zlib (gzip, brotli and zstd are all
 * native there in Bun 1.4.5): whole bodies in one call, streams chunk by
 * chunk with a flush after each, so a client of a streaming upstream (SSE,
 * NDJSON) receives every chunk as soon as the upstream sent it, compressed.
 */
import zlib from "node:zlib";
import type { Coding } from "./negotiate.ts";

export interface Levels {
  gzip: number;
  br: number;
  zstd: number;
}

/** Picked by measurement (bench/compression-levels.ts, bench/RESULTS.md): the knee of ratio over throughput on JSON. */
export const DEFAULT_LEVELS: Levels = { gzip: 5, br: 3, zstd: 1 };

export const LEVEL_RANGES: Record<Coding, [number, number]> = { gzip: [1, 9], br: [0, 11], zstd: [1, 19] };

export function compressBytes(coding: Coding, bytes: Uint8Array, level: number): Uint8Array {
  switch (coding) {
    case "gzip":
      return zlib.gzipSync(bytes, { level });
    case "br":
      return zlib.brotliCompressSync(bytes, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
      });
    case "zstd":
      return zlib.zstdCompressSync(bytes, { params: { [zlib.constants.ZSTD_c_compressionLevel]: level } });
  }
}

type Compressor = zlib.Gzip | zlib.BrotliCompress | zlib.ZstdCompress;

function compressor(coding: Coding, level: number): { z: Compressor; flushKind: number } {
  const c = zlib.constants;
  switch (coding) {
    case "gzip":
      // Z_SYNC_FLUSH: ends the chunk on a byte boundary without resetting the dictionary (RFC 1951 §3.2.4 empty stored block).
      return { z: zlib.createGzip({ level }), flushKind: c.Z_SYNC_FLUSH };
    case "br":
      return { z: zlib.createBrotliCompress({ params: { [c.BROTLI_PARAM_QUALITY]: level } }), flushKind: c.BROTLI_OPERATION_FLUSH };
    case "zstd":
      return { z: zlib.createZstdCompress({ params: { [c.ZSTD_c_compressionLevel]: level } }), flushKind: c.ZSTD_e_flush };
  }
}

/** `src` compressed as it arrives; cancelling the result cancels `src`. */
export function compressStream(coding: Coding, src: ReadableStream<Uint8Array>, level: number): ReadableStream<Uint8Array> {
  const { z, flushKind } = compressor(coding, level);
  const reader = src.getReader();
  let pending: Buffer[] = [];
  z.on("data", (b: Buffer) => pending.push(b));
  const take = (): Uint8Array | null => {
    if (pending.length === 0) return null;
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    pending = [];
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          await new Promise<void>((resolve, reject) => {
            z.once("error", reject);
            // "end" of the readable side: every compressed byte has been emitted ("finish" comes earlier).
            z.once("end", () => resolve());
            z.end();
          });
          const tail = take();
          if (tail) controller.enqueue(tail);
          controller.close();
          return;
        }
        if (value.byteLength === 0) continue;
        await new Promise<void>((resolve, reject) => {
          z.once("error", reject);
          z.write(value);
          (z as zlib.Gzip).flush(flushKind, () => resolve());
        });
        const out = take();
        if (out) {
          controller.enqueue(out);
          return;
        }
      }
    },
    cancel(reason) {
      z.destroy();
      return reader.cancel(reason);
    },
  });
}
