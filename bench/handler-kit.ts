/**
 * What the in-process handler benches share (compare-handler.ts,
 * unused-policy.ts): the gateway's real handler compiled from a config, from
 * this tree or another checkout, over an upstream client that answers at
 * once (no sockets); and a timer of N requests through it. Rounds of two
 * sides interleaved, medians and the ratio's spread: the method of
 * find-my-way's compare-branches. For the mitata benches of this tree
 * (handler, plugins, cache, idempotency): cannedClient() and localHandler().
 */
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import type { TargetClient, UpstreamResponse } from "../src/client/types.ts";
import { parseConfig } from "../src/config/load.ts";
import { ClientRegistry } from "../src/data/clients.ts";
import { createHandler } from "../src/data/handler.ts";
import { allocateShared } from "../src/data/shared.ts";
import { compileSnapshot, type Snapshot } from "../src/data/snapshot.ts";

export const ROOT = resolve(import.meta.dir, "..");

export type Handle = (req: Request, server: unknown) => Response | Promise<Response> | undefined | Promise<Response | undefined>;

/** A detached checkout of `rev` under .bench-tmp/ (made once), using this tree's node_modules. */
export function checkout(rev: string): string {
  const sha = Bun.spawnSync(["git", "rev-parse", rev], { cwd: ROOT }).stdout.toString().trim();
  if (!sha) throw new Error(`unknown ref ${rev}`);
  const dir = join(ROOT, ".bench-tmp", `ref-${sha.slice(0, 12)}`);
  if (!existsSync(dir)) {
    mkdirSync(join(ROOT, ".bench-tmp"), { recursive: true });
    const r = Bun.spawnSync(["git", "worktree", "add", "--detach", dir, sha], { cwd: ROOT, stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  }
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

const body = new TextEncoder().encode('{"ok":true,"service":"bench-upstream"}');
let dateSecond = 0;
let date = "";
/** The current HTTP date, made once a second (as an origin does): a stored copy's age starts near 0. */
function httpNow(): string {
  const t = Date.now();
  if (t - dateSecond >= 1000) {
    dateSecond = t - (t % 1000);
    date = new Date(dateSecond).toUTCString();
  }
  return date;
}
/** What the pool resolves with for a small keep-alive response. */
const canned = {
  request: () =>
    Promise.resolve({
      status: 200,
      statusText: "OK",
      headers: [["server", "nginx"], ["date", httpNow()], ["content-type", "text/plain"], ["content-length", String(body.length)], ["connection", "keep-alive"]],
      body: null,
      bodyBytes: body,
      contentLength: body.length,
    }),
  close() {},
};

/** The handlers of the tree at `dir` (either layout: src/data or the older src/server), one per config text. */
export async function handlersAt(dir: string, configs: Record<string, string>): Promise<Record<string, Handle>> {
  const modern = existsSync(join(dir, "src/data/handler.ts"));
  const p = (m: string) => join(dir, "src", m);
  const { parseConfig } = await import(p("config/load.ts"));
  const handlerMod = await import(p(modern ? "data/handler.ts" : "server/handler.ts"));
  const sharedMod = await import(p(modern ? "data/shared.ts" : "server/policies.ts"));
  const { compileSnapshot } = await import(p(modern ? "data/snapshot.ts" : "server/snapshot.ts"));
  const { ClientRegistry } = await import(p(modern ? "data/clients.ts" : "server/clients.ts"));
  class Canned extends ClientRegistry {
    get() {
      return canned;
    }
  }
  const out: Record<string, Handle> = {};
  for (const [name, text] of Object.entries(configs)) {
    const config = parseConfig(text, "bench.toml");
    const snapshot = compileSnapshot(config, sharedMod.allocateShared(config, null), new Canned());
    const state = { snapshot, draining: false, log: null, scheme: "http", skip: handlerMod.skippedHeaders?.(snapshot) };
    out[name] = handlerMod.createHandler(state);
  }
  return out;
}

const server = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }) };

/** Where each request goes: one path for all, or one per request (a fresh URL: cache misses). */
export type Target = string | ((i: number) => string);
let serial = 0;

/** Mean ns per request of `n` requests through `handle`, each made as Bun.serve would hand it over. */
export async function time(handle: Handle, n: number, target: Target, headers: Record<string, string>, init: RequestInit = {}): Promise<number> {
  const url = (i: number) => `http://127.0.0.1:8080${typeof target === "string" ? target : target(i)}`;
  const t0 = Bun.nanoseconds();
  for (let i = 0; i < n; i++) {
    const res = await handle(new Request(url(serial++), { headers, ...init }), server);
    if (res === undefined || res.status >= 300) throw new Error(`status ${res?.status}: ${await res?.text()}`);
  }
  return (Bun.nanoseconds() - t0) / n;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
export const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.round((xs.length - 1) * q)]!;

/**
 * `rounds` rounds; each runs every scenario on both sides for `requests`
 * requests, the side that goes first alternating, so drift on a shared
 * machine hits both alike. Medians per side and of the per-round ratio a/b.
 */
export async function interleave(
  names: readonly string[],
  a: (name: string) => Promise<number>,
  b: (name: string) => Promise<number>,
  rounds: number,
): Promise<Record<string, { a: number[]; b: number[]; r: number[] }>> {
  const results: Record<string, { a: number[]; b: number[]; r: number[] }> = {};
  for (const name of names) {
    await a(name); // warm both JITs
    await b(name);
    results[name] = { a: [], b: [], r: [] };
  }
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const first = round % 2 === 0;
      const x = first ? await b(name) : 0;
      const ya = await a(name);
      const yb = first ? x : await b(name);
      results[name]!.a.push(ya);
      results[name]!.b.push(yb);
      results[name]!.r.push(ya / yb);
    }
  }
  return results;
}

/** One markdown row per scenario: both medians, the ratio's median and its 10th-90th percentile. */
export function rows(results: Record<string, { a: number[]; b: number[]; r: number[] }>): string[] {
  return Object.entries(results).map(
    ([name, r]) => `| ${name} | ${median(r.a).toFixed(0)} | ${median(r.b).toFixed(0)} | ${median(r.r).toFixed(3)} | ${quantile(r.r, 0.1).toFixed(3)}-${quantile(r.r, 0.9).toFixed(3)} |`,
  );
}

/** A target client answering every request at once with `respond()` (what the pool resolves with): no sockets. */
export function cannedClient(respond: () => UpstreamResponse): TargetClient {
  return { request: () => Promise.resolve(respond()), close() {} };
}

/**
 * This tree's handler for a config text, every target's client replaced by
 * `client`. `configPath` is what relative paths in the config (plugins) are
 * resolved against.
 */
export function localHandler(text: string, client: TargetClient, configPath = "bench.toml"): { handle: ReturnType<typeof createHandler>; snapshot: Snapshot } {
  class Canned extends ClientRegistry {
    override get(): TargetClient {
      return client;
    }
  }
  const config = parseConfig(text, configPath);
  const snapshot = compileSnapshot(config, allocateShared(config, null), new Canned());
  return { handle: createHandler({ snapshot, draining: false, log: null }), snapshot };
}

/** What the handler asks of Bun's server: the peer address. */
export const benchServer = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }) } as never;
