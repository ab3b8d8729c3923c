import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server } from "bun";
import { GatewayError } from "../../../src/errors.ts";
import { UpstreamPool } from "../../../src/client/http1/pool.ts";
import { get, readAll, rejection } from "./raw-server.ts";

/** HTTPS upstream: certificate checked against the given CA, keep-alive over TLS. */
let dir = "";
let cert = "";
let server: Server<undefined>;
/** Requests the upstream actually received. */
let hits = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "pool-tls-"));
  const r = Bun.spawnSync([
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
  ]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  cert = readFileSync(join(dir, "cert.pem"), "utf8");
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert, key: readFileSync(join(dir, "key.pem"), "utf8") },
    fetch: () => {
      hits++;
      return new Response("secure");
    },
  });
});

afterAll(() => {
  server?.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

function tlsPool(over: { ca?: string; host?: string; servername?: string } = {}): UpstreamPool {
  return new UpstreamPool({
    host: over.host ?? "127.0.0.1",
    port: server.port!,
    tls: true,
    servername: over.servername,
    ca: over.ca,
    maxConnections: 4,
    idleTimeout: 10_000,
    maxQueue: 4,
    queueTimeout: 1000,
    connectTimeout: 2000,
  });
}

test("trusted CA: requests succeed and reuse one TLS connection", async () => {
  const pool = tlsPool({ ca: cert, host: "localhost" });
  for (let i = 0; i < 3; i++) expect((await readAll((await get(pool)).body)).toString()).toBe("secure");
  expect(pool.stats.open).toBe(1);
  pool.close();
});

test("IP address target, certificate with that IP SAN", async () => {
  const pool = tlsPool({ ca: cert });
  expect((await readAll((await get(pool)).body)).toString()).toBe("secure");
  pool.close();
});

test("untrusted certificate: upstream_unreachable, nothing sent", async () => {
  const pool = tlsPool({ host: "localhost" });
  const before = hits;
  const err = await rejection(get(pool));
  expect(hits).toBe(before);
  expect(err).toBeInstanceOf(GatewayError);
  expect(err.kind).toBe("upstream_unreachable");
  expect(err.retryable).toBe(true);
  pool.close();
});

test("certificate for another name: rejected", async () => {
  const pool = tlsPool({ ca: cert, host: "localhost", servername: "example.com" });
  const before = hits;
  expect((await rejection(get(pool))).kind).toBe("upstream_unreachable");
  expect(hits).toBe(before);
  pool.close();
});
