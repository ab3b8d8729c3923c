/**
 * Config loading: file → TOML → `${ENV}` interpolation → schema → normalized
 * GatewayConfig → the engines' own checks (verify.ts). Every stage reports
 * into one list, so a bad file is answered with all of its problems at once, each as `key.path[index].key: problem`,
 * in one ConfigError. Nothing here binds a port or starts anything: a reload
 * can call it and keep the running config when it throws.
 *
 * Stages remove what they could not accept (see schema-errors.ts), so the
 * later stages check the rest without tripping over it or repeating it.
 */

import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { ConfigError } from "../errors.ts";
import { type Env, interpolateTree } from "./env.ts";
import { normalizeAuth, normalizeConsumers, normalizeJwt } from "./normalize-auth.ts";
import { describeFsError } from "./normalize-common.ts";
import { normalizeRoutes } from "./normalize-routes.ts";
import { normalizeAdmin, normalizeRateLimitGlobal, normalizeRedis, normalizeServer } from "./normalize-server.ts";
import { normalizeUpstreams } from "./normalize-upstreams.ts";
import { normalizeDiscovery } from "./normalize-discovery.ts";
import { type Problem, Problems, isWithin, problemLines } from "./problems.ts";
import { ConfigSchema, type Loose, type RawConfig } from "./schema.ts";
import { checkSchema } from "./schema-errors.ts";
import { parseToml, removeDateTimes } from "./toml.ts";
import type { GatewayConfig } from "./types.ts";
import { verifyConfig } from "./verify.ts";
import { FACTORIES } from "../policies/index.ts";
import { normalizeBench } from "../bench/config.ts";

/** Reads and validates a config file. Throws ConfigError listing every problem. */
export async function loadConfig(path: string, env: Env = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConfigError([`cannot read config file "${path}": ${describeFsError(e)}`]);
  }
  return parseConfig(text, path, env);
}

/**
 * Validates config text. `sourcePath` names the file in messages and anchors
 * relative paths (tls files, public_key files); it need not exist when none
 * are used. Throws ConfigError listing every problem.
 */
export function parseConfig(text: string, sourcePath: string, env: Env = process.env): GatewayConfig {
  return validateConfig(parseToml(text, sourcePath), sourcePath, env);
}

/**
 * Validates an already parsed document (the TOML's tables as plain data, e.g.
 * a config posted as JSON to the admin API). `raw` is not modified.
 * Throws ConfigError listing every problem.
 *
 * The last stage runs the engines' own compile-time checks (verify.ts), so a
 * config accepted here is one every worker can compile.
 */
export function validateConfig(raw: Record<string, unknown>, sourcePath: string, env: Env = process.env): GatewayConfig {
  const { config, doc, report } = normalizeStages(raw, sourcePath, env);
  const engines = new Problems();
  verifyConfig(config, doc, report, engines);
  // And each policy's own (PolicyFactory.verify), once its config is otherwise sound.
  if (report.length === 0 && engines.count === 0) for (const f of FACTORIES) f.verify?.(config, engines);
  const all = withoutEcho(report, [engines.items]);
  if (all.length > 0) throw new ConfigError(problemLines(all));
  return config;
}

/**
 * Schema and normalization only, without the engines' checks. Not for
 * serving: test/config/verdict.test.ts uses it to build the configs whose
 * load verdict it compares with compileSnapshot's.
 */
export function normalizeConfigUnverified(raw: Record<string, unknown>, sourcePath: string, env: Env = process.env): GatewayConfig {
  const { config, report } = normalizeStages(raw, sourcePath, env);
  if (report.length > 0) throw new ConfigError(problemLines(report));
  return config;
}

function normalizeStages(
  raw: Record<string, unknown>,
  sourcePath: string,
  env: Env,
): { config: GatewayConfig; doc: Loose<RawConfig>; report: Problem[] } {
  const early = new Problems();
  // interpolateTree copies, so removals below never touch the caller's object.
  const interpolated = interpolateTree(raw, env, early) as Record<string, unknown>;
  removeDateTimes(interpolated, early);

  const schema = new Problems();
  checkSchema(ConfigSchema, interpolated, schema);

  const problems = new Problems();
  const source = resolve(sourcePath);
  const ctx = { problems, configDir: dirname(source) };
  const doc = interpolated as Loose<RawConfig>;

  const server = normalizeServer(ctx, doc.server);
  const admin = normalizeAdmin(ctx, doc.admin, server);
  const redis = normalizeRedis(ctx, doc.redis);
  const upstreams = normalizeUpstreams(ctx, doc.upstreams);
  const jwt = normalizeJwt(ctx, doc.jwt);
  const auth = normalizeAuth(ctx, doc.auth);
  const consumers = normalizeConsumers(ctx, doc.consumers);
  const routes = normalizeRoutes(ctx, doc.routes, {
    upstreamNames: new Set(upstreams.map((u) => u.name)),
    hasJwt: jwt.length > 0,
    hasApiKeys: consumers.some((c) => c.api_keys.length > 0 || (c.api_key_digests?.length ?? 0) > 0),
  });
  const rate_limit = normalizeRateLimitGlobal(doc.rate_limit);

  const bench = normalizeBench(ctx, doc.bench as Record<string, unknown> | undefined);
  const discovery = normalizeDiscovery(ctx, doc.discovery);
  const base = { server, admin, redis, upstreams, routes, jwt, auth, consumers, rate_limit, bench, source, ...(discovery ? { discovery } : {}) };
  // Each policy normalizes its own top-level sections ([cache], [cors], ...).
  const config = Object.assign(base, ...FACTORIES.map((f) => f.normalizeSections?.(ctx, doc as Record<string, unknown>, base))) as GatewayConfig;
  return { config, doc, report: withoutEcho(early.items, [schema.items, problems.items]) };
}

/** A value reported by an earlier stage was reported once; whatever a later stage says about it is noise. */
function withoutEcho(first: readonly Problem[], later: readonly (readonly Problem[])[]): Problem[] {
  const report = [...first];
  for (const stage of later) {
    const known = report.slice();
    for (const p of stage) if (!known.some((k) => isWithin(p.path, k.path))) report.push(p);
  }
  return report;
}
