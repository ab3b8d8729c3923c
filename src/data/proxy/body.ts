import { GatewayError } from "../../errors.ts";
import { CLOSE } from "../request-checks.ts";

/**
 * A chunked request body has no length up front: count it as it streams and
 * fail the stream once it passes `max`. The forwarder then answers 413 and the
 * upstream sees an aborted request, never the excess bytes.
 */
export function limitBody(body: ReadableStream<Uint8Array>, max: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let seen = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) {
        controller.close();
        return;
      }
      seen += value.byteLength;
      if (seen > max) {
        const err = new GatewayError("payload_too_large", 413, "request body too large", { headers: CLOSE });
        reader.cancel(err).catch(() => {});
        controller.error(err);
        return;
      }
      controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
