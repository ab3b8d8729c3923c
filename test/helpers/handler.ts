/**
 * The real handler over the real compiled snapshot, with the upstream client
 * replaced by a canned one (what the pool resolves with), in-process: for
 * testing the pipeline's order and answers without sockets. The same shape
 * bench/handler.bench.ts measures.
 */
import type { Server } from "bun";
import type { TargetClient, UpstreamBody, UpstreamResponse } from "../../src/client/types.ts";
import { AccessLog } from "../../src/data/access-log.ts";
import { ClientRegistry } from "../../src/data/clients.ts";
import { createHandler, type ServeState } from "../../src/data/handler.ts";
import { allocateShared } from "../../src/data/shared.ts";
import { compileSnapshot, type RecipeOverride } from "../../src/data/snapshot.ts";
import { testConfig } from "./config.ts";

export interface CannedAnswer {
  status?: number;
  headers?: [string, string][];
  /** Bytes that came with the head (the pool's bodyBytes), or a stream. */
  body?: Uint8Array | ReadableStream<Uint8Array> | string | null;
  /** Reject instead of answering. */
  error?: unknown;
}

export interface Sent {
  head: string;
  body: UpstreamBody;
}

export class CannedClient implements TargetClient {
  readonly sent: Sent[] = [];
  answer: CannedAnswer | ((sent: Sent) => CannedAnswer) = { body: '{"ok":true}' };

  async request(head: string, body: UpstreamBody): Promise<UpstreamResponse> {
    const sent = { head, body };
    this.sent.push(sent);
    const a = typeof this.answer === "function" ? this.answer(sent) : this.answer;
    if (a.error !== undefined) throw a.error;
    const raw = a.body === undefined ? '{"ok":true}' : a.body;
    const bytes = typeof raw === "string" ? new TextEncoder().encode(raw) : raw instanceof Uint8Array ? raw : null;
    const stream = raw instanceof ReadableStream ? raw : null;
    const headers = a.headers ?? [["content-type", "application/json"]];
    if (bytes !== null) headers.push(["content-length", String(bytes.length)]);
    return { status: a.status ?? 200, statusText: "", headers, body: stream, bodyBytes: bytes, contentLength: bytes ? bytes.length : -1 };
  }

  close(): void {}
}

export interface InProcessGateway {
  handle(path: string, init?: RequestInit & { host?: string }): Promise<Response>;
  readonly client: CannedClient;
  /** Access-log lines written so far, parsed. */
  readonly log: Record<string, unknown>[];
  readonly state: ServeState;
}

const SERVER = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }) } as unknown as Server<undefined>;

/** `toml` is a whole config (parsed with the normalizers' defaults); `override` swaps the recipe. */
export function inProcessGateway(toml: string, override: RecipeOverride = {}): InProcessGateway {
  const config = testConfig(toml);
  const client = new CannedClient();
  class Canned extends ClientRegistry {
    override get(): TargetClient {
      return client;
    }
  }
  const lines: Record<string, unknown>[] = [];
  const log = new AccessLog((s) => {
    for (const line of s.split("\n")) if (line) lines.push(JSON.parse(line));
  });
  const snapshot = compileSnapshot(config, allocateShared(config, null), new Canned(), override);
  const state: ServeState = { snapshot, draining: false, log };
  const handler = createHandler(state);
  return {
    client,
    log: lines,
    state,
    async handle(path, init = {}) {
      // Never undefined here: only an upgrade answers nothing, and there is no server to upgrade on.
      const res = (await handler(new Request(`http://${init.host ?? "gw.test"}${path}`, init), SERVER))!;
      log.flush();
      return res;
    },
  };
}

/** A config with one upstream "u" and the given [[routes]] tables (TOML). */
export function withRoutes(routes: string, extra = ""): string {
  return `[server]
listen = "127.0.0.1:0"
access_log = true
${extra}
[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:3001" }]
${routes}`;
}
