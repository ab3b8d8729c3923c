/**
 * `server.tls` as a list chosen by SNI, `hsts`, `tls_min_version` and
 * `tls_ciphers` at load: each problem under its key path. The single-table
 * form's missing file and mismatched key are in server.test.ts and
 * verdict.test.ts; what a running gateway does with them is in
 * test/integration/tls.test.ts. Certificates are made by openssl here, so the
 * host-coverage check sees real subjectAltNames.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/load.ts";
import type { GatewayConfig } from "../../src/config/types.ts";
import { ConfigError } from "../../src/errors.ts";
import { makeCert } from "../helpers/certs.ts";
import { UPSTREAM } from "./helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "gw-tls-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
makeCert(dir, "a", ["a.test", "*.w.test"]);
makeCert(dir, "b", ["b.test"]);
const A = '{ cert = "a.pem", key = "a-key.pem"';
const B = '{ cert = "b.pem", key = "b-key.pem"';

/** `server` keys (TOML lines) in a config file in `dir`, so relative cert paths resolve there. */
function load(server: string, at = dir): GatewayConfig {
  return parseConfig(`[server]\n${server}\n${UPSTREAM}`, join(at, "config.toml"), {});
}

function problems(server: string): string[] {
  try {
    load(server);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected the config to be refused, it was accepted");
}

describe("server.tls as a list", () => {
  test("hosts are lower-cased, a trailing dot dropped; the first entry may list none", () => {
    expect(load(`tls = [${A} }, ${B}, hosts = ["B.Test."] }]`).server.tls).toEqual([
      { cert: join(dir, "a.pem"), key: join(dir, "a-key.pem"), hosts: [] },
      { cert: join(dir, "b.pem"), key: join(dir, "b-key.pem"), hosts: ["b.test"] },
    ]);
  });

  test("the one-table form may list hosts too", () => {
    expect(load(`tls = ${A}, hosts = ["a.test", "*.w.test"] }`).server.tls![0]!.hosts).toEqual(["a.test", "*.w.test"]);
  });

  test("every entry but the first needs hosts (it could never be chosen)", () => {
    const why = "required on every certificate but the first (the first is the default for clients without SNI or with an unlisted name)";
    expect(problems(`tls = [${A} }, ${B} }]`)).toEqual([`server.tls[1].hosts: ${why}`]);
    expect(problems(`tls = [${A} }, ${B}, hosts = [] }]`)).toEqual([`server.tls[1].hosts: ${why}`]);
  });

  test("a name is served by one entry only, compared as SNI compares it", () => {
    expect(problems(`tls = [${A}, hosts = ["a.test"] }, ${B}, hosts = ["A.Test.", "b.test"] }]`)).toEqual([
      'server.tls[1].hosts[0]: "a.test" is already served by server.tls[0]',
    ]);
  });

  test("IP addresses and malformed names are refused, each at its index", () => {
    expect(problems(`tls = [${A}, hosts = ["10.0.0.1", "[::1]", "*.test", "a.*.test", "x_y.test", "*"] }]`)).toEqual([
      "server.tls[0].hosts[0]: an IP address is never sent as SNI (RFC 6066 §3); the first certificate answers such clients",
      "server.tls[0].hosts[1]: an IP address is never sent as SNI (RFC 6066 §3); the first certificate answers such clients",
      'server.tls[0].hosts[2]: expected "*.<domain>" with at least two labels after "*", got "*.test"',
      'server.tls[0].hosts[3]: expected a host name such as "api.example.com" or "*.example.com" ("*" only as the whole first label), got "a.*.test"',
      'server.tls[0].hosts[4]: expected a host name such as "api.example.com" or "*.example.com" ("*" only as the whole first label), got "x_y.test"',
      'server.tls[0].hosts[5]: expected "*.<domain>" with at least two labels after "*", got "*"',
    ]);
  });

  test("the certificate must cover each name listed for it: exact, under its wildcard, or wildcard for wildcard", () => {
    expect(load(`tls = [${A}, hosts = ["a.test", "x.w.test", "*.w.test"] }]`).server.tls![0]!.hosts).toHaveLength(3);
    expect(problems(`tls = [${A} }, ${B}, hosts = ["c.test", "*.b.test"] }]`)).toEqual([
      `server.tls[1].hosts[0]: the certificate in ${join(dir, "b.pem")} does not cover "c.test" (it names DNS:b.test)`,
      `server.tls[1].hosts[1]: the certificate in ${join(dir, "b.pem")} does not cover "*.b.test" (it names DNS:b.test)`,
    ]);
  });

  test("a key that is another entry's: the entry's path, both files named", () => {
    const [p] = problems(`tls = [${A} }, { cert = "b.pem", key = "a-key.pem", hosts = ["b.test"] }]`);
    expect(p).toStartWith("server.tls[1]: key and cert do not go together (");
    expect(p).toEndWith(`): ${join(dir, "a-key.pem")} is not the key of ${join(dir, "b.pem")}`);
  });

  test("an empty list, an entry without key", () => {
    expect(problems("tls = []")).toEqual(["server.tls: expected a table { cert, key } or a non-empty list of them"]);
    expect(problems('tls = [{ cert = "a.pem" }]')).toEqual(["server.tls[0].key: required key missing"]);
  });
});

describe("tls_min_version, tls_ciphers, http2", () => {
  test("defaults: TLS 1.2, ECDHE+AEAD suites, http2 on", () => {
    const s = load(`tls = ${A} }`).server;
    expect(s.tls_min_version).toBe("1.2");
    expect(s.tls_ciphers.split(":").every((c) => c.startsWith("ECDHE-") && /GCM|CHACHA20/.test(c))).toBe(true);
    expect(s.http2).toBe(true);
  });

  test("no version below 1.2; a cipher list BoringSSL does not know", () => {
    expect(problems(`tls = ${A} }\ntls_min_version = "1.1"`)).toEqual(['server.tls_min_version: expected one of "1.2", "1.3"']);
    expect(problems(`tls = ${A} }\ntls_ciphers = "NOPE-CIPHER"`)).toEqual([
      "server.tls_ciphers: not a cipher list BoringSSL accepts (error:100000b1:SSL routines:OPENSSL_internal:NO_CIPHER_MATCH)",
    ]);
  });
});

describe("server.hsts", () => {
  test("defaults to a year; the header is built at load", () => {
    expect(load(`tls = ${A} }\nhsts = {}`).server.hsts).toEqual({ max_age: 31_536_000, include_subdomains: false, preload: false, header: "max-age=31536000" });
    expect(load(`tls = ${A} }\nhsts = { max_age = "1d", include_subdomains = true }`).server.hsts!.header).toBe("max-age=86400; includeSubDomains");
    expect(load(`tls = ${A} }\nhsts = { preload = true, include_subdomains = true }`).server.hsts!.header).toBe("max-age=31536000; includeSubDomains; preload");
  });

  test("only over TLS (RFC 6797 §7.2); preload only as the preload list takes it", () => {
    expect(problems("hsts = {}")).toEqual(["server.hsts: needs server.tls: Strict-Transport-Security is only sent over TLS (RFC 6797 §7.2)"]);
    expect(problems(`tls = ${A} }\nhsts = { preload = true }`)).toEqual(["server.hsts.preload: needs include_subdomains = true (the HSTS preload list requires it)"]);
    expect(problems(`tls = ${A} }\nhsts = { max_age = "30d", preload = true, include_subdomains = true }`)).toEqual([
      'server.hsts.preload: needs max_age of at least "365d" (the HSTS preload list requires it)',
    ]);
  });
});

test("the README's TLS example, as printed, loads with certificates for its names", () => {
  const readme = readFileSync(join(import.meta.dir, "../../README.md"), "utf8");
  const start = readme.indexOf("### TLS and HTTP/2: `[server] tls`");
  const block = /```toml\n([\s\S]*?)```/.exec(readme.slice(start, readme.indexOf("\n### ", start + 1)))?.[1];
  expect(block).toBeDefined();
  const at = join(dir, "readme");
  mkdirSync(join(at, "certs"), { recursive: true });
  makeCert(join(at, "certs"), "default", ["www.example.com"]);
  makeCert(join(at, "certs"), "api", ["api.example.com"]);
  makeCert(join(at, "certs"), "apps", ["*.apps.example.com"]);
  const config = parseConfig(`${block}\n${UPSTREAM}`, join(at, "config.toml"), {});
  expect(config.server.tls!.map((t) => t.hosts)).toEqual([[], ["api.example.com"], ["*.apps.example.com"]]);
  expect(config.server).toMatchObject({ tls_min_version: "1.2", http2: true, hsts: { header: "max-age=31536000; includeSubDomains" } });
});
