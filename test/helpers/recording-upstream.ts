import { rawServer, type RawRequest, type RawServer } from "../proxy/http1/raw-server.ts";

/**
 * A TCP upstream that records every request exactly as it came off the wire
 * (head text, de-framed body bytes) and answers 200 with JSON
 * `{ line, body }`, so a test sees both what the gateway sent and, through
 * the client's answer, which request it belongs to. A request the gateway
 * framed wrongly shows up as a missing, merged or extra record.
 * `answers` maps a path to exact response bytes instead.
 */
export interface RecordingUpstream {
  readonly server: RawServer;
  readonly port: number;
  readonly requests: RawRequest[];
  stop(): void;
}

export function startRecordingUpstream(answers: Record<string, string> = {}): RecordingUpstream {
  const server = rawServer((req, socket) => {
    const line = req.head.slice(0, req.head.indexOf("\r\n"));
    const path = line.split(" ")[1] ?? "";
    const exact = answers[path];
    if (exact !== undefined) {
      socket.write(exact);
      return;
    }
    const json = JSON.stringify({ line, body: req.body.toString("latin1") });
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json, "latin1")}\r\n\r\n${json}`);
  });
  return { server, port: server.port, requests: server.requests, stop: () => server.stop() };
}

/** A header's value in a recorded head (first line with that name), or null. */
export function headerOf(head: string, name: string): string | null {
  const lower = name.toLowerCase();
  for (const line of head.split("\r\n").slice(1)) {
    const c = line.indexOf(":");
    if (c > 0 && line.slice(0, c).toLowerCase() === lower) return line.slice(c + 1).trim();
  }
  return null;
}
