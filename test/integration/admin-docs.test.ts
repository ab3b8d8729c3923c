import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import { RATE_LIMIT_ALGORITHMS } from "../../src/limits/config.ts";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";

const TOKEN = "admin-token-for-docs-tests-0123456";
let upstream: ReturnType<typeof Bun.serve>;
let gw: GatewayProcess;
const tmp = mkdtempSync(join(tmpdir(), "gw-chromium-"));

beforeAll(async () => {
  upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 2
access_log = false

[admin]
listen = "127.0.0.1:0"
token = "${TOKEN}"

[[upstreams]]
name = "users"
targets = [{ url = "http://127.0.0.1:${upstream.port}" }]

[cache]
size = "4MB"

[[routes]]
name = "users-route"
path = "/api/*"
upstream = "users"

[[routes]]
name = "limited"
path = "/limited/*"
upstream = "users"
rate_limits = [{ algorithm = "fixed_window", limit = 3, window = "1m", key = "ip" }]

[[routes]]
name = "cached"
path = "/cached/*"
upstream = "users"
cache = { ttl = "60s" }
`);
});
afterAll(async () => {
  await gw?.stop();
  upstream?.stop(true);
  rmSync(tmp, { recursive: true, force: true });
});

const admin = (path: string) => fetch(`${gw.adminUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });

type Doc = {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { operationId: string; responses: Record<string, { description?: string; content?: Record<string, { schema: unknown }> }>; parameters?: { name: string; in: string; required?: boolean; schema: unknown }[]; requestBody?: { content: Record<string, { schema: unknown }> } }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }>; schemas: Record<string, unknown> };
  security: Record<string, string[]>[];
};

/** The structural rules of OpenAPI 3.1 (spec §4.8) that a consumer of the document relies on; returns every violation. */
function openApiProblems(doc: Doc): string[] {
  const out: string[] = [];
  if (!/^3\.1\.\d+$/.test(doc.openapi)) out.push(`openapi: ${doc.openapi}`);
  if (typeof doc.info?.title !== "string" || typeof doc.info?.version !== "string") out.push("info needs title and version");
  const ids = new Set<string>();
  const METHODS = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!path.startsWith("/")) out.push(`path ${path} must start with /`);
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) out.push(`${path}: ${method} is not an HTTP method field`);
      if (ids.has(op.operationId)) out.push(`duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
      const codes = Object.keys(op.responses);
      if (codes.length === 0) out.push(`${method} ${path}: no responses`);
      for (const [code, r] of Object.entries(op.responses)) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(code)) out.push(`${method} ${path}: bad response key ${code}`);
        if (typeof r.description !== "string") out.push(`${method} ${path} ${code}: description required`);
        for (const media of Object.values(r.content ?? {})) if (typeof media.schema !== "object") out.push(`${method} ${path} ${code}: schema`);
      }
      const params = op.parameters ?? [];
      for (const name of templated) {
        const p = params.find((x) => x.name === name && x.in === "path");
        if (!p || p.required !== true) out.push(`${method} ${path}: path parameter ${name} must be declared, required`);
      }
      for (const p of params) {
        if (!["path", "query", "header", "cookie"].includes(p.in)) out.push(`${method} ${path}: parameter ${p.name} in ${p.in}`);
        if (p.in === "path" && !templated.includes(p.name)) out.push(`${method} ${path}: path parameter ${p.name} not in the template`);
      }
      if (op.requestBody && Object.keys(op.requestBody.content).length === 0) out.push(`${method} ${path}: empty requestBody`);
    }
  }
  for (const s of doc.security) for (const name of Object.keys(s)) if (!doc.components.securitySchemes[name]) out.push(`security ${name} undefined`);
  const refs = JSON.stringify(doc).match(/"\$ref":"([^"]+)"/g) ?? [];
  for (const ref of refs) {
    const target = ref.slice(8, -1);
    const name = target.replace("#/components/schemas/", "");
    if (!target.startsWith("#/components/schemas/") || !(name in doc.components.schemas)) out.push(`dangling $ref ${target}`);
  }
  return out;
}

describe("OpenAPI document", () => {
  test("is served to the admin token only, and is a structurally valid OpenAPI 3.1 document", async () => {
    expect((await fetch(`${gw.adminUrl}/openapi.json`)).status).toBe(401);
    const doc = (await (await admin("/openapi.json")).json()) as Doc;
    expect(openApiProblems(doc)).toEqual([]);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/status", "/upstreams", "/reload", "/revocations", "/config", "/consumers", "/consumers/{name}", "/consumers/{name}/keys", "/consumers/{name}/keys/{id}", "/upstreams/{name}/targets", "/openapi.json"]),
    );
  });

  test("validates against the official OpenAPI 3.1 schema, and every schema in it is valid JSON Schema 2020-12", async () => {
    const doc = (await (await admin("/openapi.json")).json()) as Doc;
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc) as never);
    expect(res.errors ?? []).toEqual([]);
    expect(res.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    // The OpenAPI schema checks a Schema Object only loosely ($dynamicRef): each one against the 2020-12 meta-schema too.
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const schemas: unknown[] = [];
    const collect = (o: unknown): void => {
      if (typeof o !== "object" || o === null) return;
      for (const [k, v] of Object.entries(o)) if (k === "schema") schemas.push(v);
      else collect(v);
    };
    collect(doc.paths);
    expect(schemas.length).toBeGreaterThan(20);
    for (const s of schemas) {
      const ok = ajv.validateSchema(s as object);
      if (!ok) throw new Error(`${JSON.stringify(s).slice(0, 200)}: ${ajv.errorsText(ajv.errors)}`);
    }
    // And they compile: the document's body schema accepts what the endpoint accepts, refuses what it refuses.
    const body = doc.paths["/consumers"]!.post!.requestBody!.content["application/json"]!.schema as object;
    const check = ajv.compile(body);
    expect(check({ name: "acme", roles: ["a"], rate_limits: [{ algorithm: "fixed_window", limit: 10, window: "1m" }] })).toBe(true);
    expect(check({ name: "acme", extra: 1 })).toBe(false);
    const r = await fetch(`${gw.adminUrl}/consumers`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ name: "acme", extra: 1 }) });
    expect(r.status).toBe(422);
  });

  test("uses the config's own schemas: a consumer's rate_limits are the [[consumers]] rate_limits", async () => {
    const doc = (await (await admin("/openapi.json")).json()) as Doc;
    const body = doc.paths["/consumers"]!.post!.requestBody!.content["application/json"]!.schema as {
      properties: { rate_limits: { items: { properties: { algorithm: { anyOf: { const: string }[] } }; additionalProperties: boolean } } };
    };
    const algorithms = body.properties.rate_limits.items.properties.algorithm.anyOf.map((a) => a.const);
    expect(algorithms).toEqual([...RATE_LIMIT_ALGORITHMS]);
    expect(body.properties.rate_limits.items.additionalProperties).toBe(false);
  });

  test("the human-readable page is self-contained HTML, without data of its own", async () => {
    const r = await fetch(`${gw.adminUrl}/docs`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/html");
    const html = await r.text();
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    expect(html).not.toContain(TOKEN);
  });
});

function chromium(args: string[]): { code: number; stdout: string } {
  const r = Bun.spawnSync(
    [
      "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", `--user-data-dir=${join(tmp, "profile")}`, ...args,
    ],
    { stdout: "pipe", stderr: "pipe", timeout: 60_000 },
  );
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString() };
}

/** Text that tesseract (apt: tesseract-ocr) reads in a PNG: what a person sees on the screenshot. */
function ocr(png: string): string {
  const r = Bun.spawnSync(["tesseract", png, "stdout", "--psm", "3"], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
  expect(r.exitCode).toBe(0);
  return r.stdout.toString();
}

describe("status page in headless Chromium", () => {
  test("renders the live numbers: totals, 429s, cache hit ratio, routes with their counts and latency, targets with health and breaker", async () => {
    const get = async (path: string) => (await fetch(`${gw.url}${path}`)).status;
    for (let i = 0; i < 37; i++) expect(await get(`/api/n${i}`)).toBe(200);
    // 3 admitted, 5 refused by the limit; 1 miss then 3 hits on the cached route: 49 requests.
    const limited: number[] = [];
    for (let i = 0; i < 8; i++) limited.push(await get(`/limited/${i}`));
    expect(limited.filter((c) => c === 429)).toHaveLength(5);
    for (let i = 0; i < 4; i++) expect(await get("/cached/one")).toBe(200);

    const status = (await (await admin("/status")).json()) as any;
    expect(status.totals).toMatchObject({ requests: 49, success: 44, failed: 0, rate_limited: 5, cache_hits: 3, cache_misses: 1 });
    expect(status.breakers).toEqual({ closed: 1, open: 0, half_open: 0 });
    const byName = Object.fromEntries(status.routes.map((r: any) => [r.name, r]));
    expect(byName["users-route"]).toMatchObject({ requests: 37, rate_limited: 0 });
    expect(byName.limited).toMatchObject({ requests: 8, rate_limited: 5 });
    expect(byName["users-route"].latency_ms).toBeGreaterThan(0);

    const url = `${gw.adminUrl}/dashboard#token=${TOKEN}`;
    // The page polls every 2 s; 5 s of virtual time lets it fetch at least twice (so req/s is known too).
    const dom = chromium(["--virtual-time-budget=5000", "--dump-dom", url]);
    expect(dom.code).toBe(0);
    const html = dom.stdout;
    expect(html).not.toMatch(/<p id="error">[^<]/);
    const routeRow = (name: string) => {
      const m = html.match(new RegExp(`<tr><td>${name}</td>(.*?)</tr>`));
      expect(m).not.toBeNull();
      return [...m![1]!.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((x) => x[1]);
    };
    // path, upstream, auth, requests, req/s, rate-limited, latency
    const users = routeRow("users-route");
    expect(users.slice(0, 4)).toEqual(["/api/*", "users", "none", "37"]);
    expect(users[4]).toMatch(/^\d+\.\d$/);
    expect(users[5]).toBe("0");
    expect(Number(users[6])).toBeGreaterThan(0);
    expect(routeRow("limited").slice(3, 6).filter((_, i) => i !== 1)).toEqual(["8", "5"]);
    const row = html.match(/<tr><td>users<\/td><td>(http:\/\/127\.0\.0\.1:\d+)<\/td><td class="up">up<\/td><td class="closed">closed<\/td>(.*?)<\/tr>/);
    expect(row).not.toBeNull();
    expect(row![1]).toBe(`http://127.0.0.1:${upstream.port}`);
    // in flight, req/s, requests, failures: the live request count the upstream state holds (the 3 cache hits never reached it, the 5 refusals neither).
    const cells = [...row![2]!.matchAll(/<td class="num">([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells[2]).toBe(String(37 + 3 + 1));
    expect(cells[3]).toBe("0");
    const card = (id: string) => html.match(new RegExp(`<div class="card" id="${id}"><b>([^<]*)</b>`))?.[1];
    expect(card("c-requests")).toBe("49");
    expect(card("c-limited")).toBe("5");
    expect(card("c-cache")).toBe("75.0 %");
    expect(card("c-breakers")).toBe("0");
    expect(card("c-workers")).toBe("2");
    expect(card("c-rate")).toMatch(/^\d+\.\d$/);

    // What a person sees: the screenshot, read back by OCR, shows the same live numbers.
    const shot = join(tmp, "dashboard.png");
    const s = chromium(["--virtual-time-budget=3000", "--window-size=1100,800", "--force-device-scale-factor=2", `--screenshot=${shot}`, url]);
    expect(s.code).toBe(0);
    expect(existsSync(shot)).toBe(true);
    const png = readFileSync(shot);
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join("")).toBe("PNG");
    const seen = ocr(shot);
    expect(seen).toContain("gateway status");
    expect(seen).toMatch(/75\.0\s?%/);
    expect(seen).toContain("users-route");
    expect(seen).toMatch(/\b49\b/);
    expect(seen).toMatch(/\b41\b/); // the target's request count
    expect(seen).toMatch(/rate-limited/);
  }, 120_000);

  test("a wrong token shows the error instead of numbers", () => {
    const dom = chromium(["--virtual-time-budget=2000", "--dump-dom", `${gw.adminUrl}/dashboard#token=wrong`]);
    expect(dom.stdout).toContain("wrong admin token");
  }, 60_000);

  test("the API reference page renders every endpoint of the document", async () => {
    const doc = (await (await admin("/openapi.json")).json()) as Doc;
    const dom = chromium(["--virtual-time-budget=3000", "--dump-dom", `${gw.adminUrl}/docs#token=${TOKEN}`]).stdout;
    expect(dom).not.toMatch(/<p id="error">[^<]/);
    const shown = [...dom.matchAll(/<div class="op"><span class="m">(\w+)<\/span><code>([^<]+)<\/code>/g)].map((m) => `${m[1]} ${m[2]}`);
    const expected = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method} ${path}`));
    expect(shown).toEqual(expected);
    expect(dom).toContain("gateway admin API " + doc.info.version);
  }, 60_000);
});
