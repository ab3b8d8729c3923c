/**
 * `gateway bench`: measure every route of a config (or `--route` ones)
 * against its latency budgets, run the fault scenarios, write
 * bench-report.html and bench-report.json, and exit 0 (every budget met),
 * 1 (one missed), 2 (bad command line or config) or 3 (could not run).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../config/load.ts";
import type { GatewayConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { COMMIT, VERSION } from "../version.ts";
import { BENCH_HELP, type BenchArgs, parseBenchArgs } from "./args.ts";
import { type Check, faultChecks, routeChecks } from "./budget.ts";
import { mergeBudget } from "./config.ts";
import { type FaultResult, runFault } from "./faults.ts";
import { Harness, HarnessError } from "./harness.ts";
import { type LoadShape, measureRoute, type RouteResult } from "./measure.ts";
import { Progress } from "./progress.ts";
import { renderHtml } from "./report-html.ts";
import type { BenchReport } from "./report.ts";

export type { BenchReport };
import { allowedHost, planRoute, type RoutePlan } from "./request.ts";


export async function benchMain(argv: string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  if ("help" in parsed) {
    console.log(BENCH_HELP);
    return 0;
  }
  if ("error" in parsed) {
    console.error(`gateway bench: ${parsed.error}`);
    return 2;
  }
  const args = parsed;
  let config: GatewayConfig;
  try {
    config = await loadConfig(args.config);
  } catch (e) {
    if (e instanceof ConfigError) console.error(`gateway bench: invalid config: ${e.message}`);
    else console.error(`gateway bench: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const routes = args.routes.length === 0 ? config.routes : config.routes.filter((r) => args.routes.includes(r.name));
  for (const name of args.routes) {
    if (!config.routes.some((r) => r.name === name)) {
      console.error(`gateway bench: --route ${JSON.stringify(name)}: no such route in ${args.config} (routes: ${config.routes.map((r) => r.name).join(", ") || "none"})`);
      return 2;
    }
  }
  for (const name of Object.keys(config.bench.requests)) {
    if (!config.routes.some((r) => r.name === name)) {
      console.error(`gateway bench: invalid config: bench.requests.${name}: no route named ${JSON.stringify(name)}`);
      return 2;
    }
  }
  if (routes.length === 0) {
    console.error(`gateway bench: ${args.config} has no routes to measure`);
    return 2;
  }
  if (args.target !== null && !allowedHost(config, new URL(args.target).hostname)) {
    console.error(`gateway bench: --target ${args.target}: the bench sends load only to loopback or to hosts the config names as targets`);
    return 2;
  }
  const shape: LoadShape = {
    duration: args.duration ?? config.bench.duration,
    warmup: args.warmup ?? config.bench.warmup,
    connections: args.connections ?? config.bench.connections,
    rate: args.rate ?? config.bench.rate,
    rampSteps: args.rampSteps ?? config.bench.ramp_steps,
    maxRequests: args.maxRequests ?? undefined,
  };
  const faults = args.faults ?? config.bench.faults;
  const stubLatency = args.stubLatency ?? config.bench.stub.latency;
  const stubBody = args.stubBody ?? config.bench.stub.body;

  const progress = new Progress(true);
  const harness = new Harness();
  const onSignal = () => void harness.stop().then(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    try {
      await harness.start(config, { configPath: args.config, target: args.target, stub: args.stub, ownRedis: args.stub || faults.includes("redis"), stubLatency, stubBody });
    } catch (e) {
      if (e instanceof ConfigError) {
        console.error(`gateway bench: invalid config: ${e.message}`);
        return 2;
      }
      console.error(`gateway bench: could not start: ${e instanceof Error ? e.message : String(e)}`);
      return 3;
    }
    // Stubs keep the shape in the config the gateway runs, so the slow scenario can restore it.
    harness.config.bench.stub = { latency: stubLatency, body: stubBody };
    const effective = harness.config;
    const plans: RoutePlan[] = [];
    for (const r of routes) {
      const route = effective.routes.find((x) => x.name === r.name) ?? r;
      const plan = planRoute(effective, route, harness.gateway, args.headers);
      if (plan.direct !== null && !allowedHost(effective, plan.direct.endpoint.hostname)) plan.direct = null;
      plans.push(plan);
    }

    const results: BenchReport["routes"] = [];
    for (const plan of plans) {
      const route = routes.find((r) => r.name === plan.name)!;
      const budget = mergeBudget(config.bench.budget, route.budget);
      const res = await measureRoute(harness.gateway, plan, budget, shape, progress);
      const checks = routeChecks(res);
      results.push({ ...res, checks });
      progress.note(routeLine(res));
      for (const w of res.warnings) progress.note(`bench: route ${res.name}: warning: ${w}`);
    }

    const faultResults: FaultResult[] = [];
    const faultChecksAll: Check[] = [];
    if (faults.length > 0) {
      const plan = plans[0]!;
      const first = results[0]!;
      const budget = mergeBudget(config.bench.budget, routes.find((r) => r.name === plan.name)!.budget);
      for (const f of faults) {
        const res = await runFault(f, harness, plan, first.open.rate, shape.duration, shape.connections, progress);
        faultResults.push(res);
        faultChecksAll.push(...faultChecks(res, budget));
        progress.note(faultLine(res));
      }
    }
    progress.end();

    const checks = [...results.flatMap((r) => r.checks), ...faultChecksAll];
    const report: BenchReport = {
      tool: "gateway bench",
      version: VERSION,
      commit: COMMIT,
      date: new Date().toISOString(),
      command: `gateway bench ${argv.join(" ")}`.trim(),
      config: resolve(args.config),
      gateway: `http://${harness.gateway.hostname}:${harness.gateway.port}`,
      stub: args.stub ? { latency_ms: stubLatency, body_bytes: stubBody } : null,
      load: shape,
      routes: results,
      faults: faultResults,
      checks,
      pass: checks.every((c) => c.pass),
    };
    if (args.report) writeReports(args, report);
    if (args.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else console.log(summaryText(report));
    return report.pass ? 0 : 1;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await harness.stop();
  }
}

function writeReports(args: BenchArgs, report: BenchReport): void {
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, "bench-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(args.out, "bench-report.html"), renderHtml(report));
}

const ms = (v: number) => (v < 1 ? `${(v * 1000).toFixed(0)}us` : `${v.toFixed(2)}ms`);
const signed = (v: number) => `${v >= 0 ? "+" : "-"}${ms(Math.abs(v))}`;

function routeLine(r: RouteResult): string {
  const l = r.open.gateway.latency;
  return `bench: route ${r.name}: max ${Math.round(r.closed.rps)} req/s; at ${r.open.rate} req/s p50 ${ms(l.p50)} p99 ${ms(l.p99)}${
    r.overhead ? `, overhead p99 ${signed(r.overhead.p99)}` : ""
  }`;
}

function faultLine(f: FaultResult): string {
  if (f.skipped !== null) return `bench: fault ${f.name}: skipped: ${f.skipped}`;
  return `bench: fault ${f.name}: ${f.failed} failed of ${f.requests}${f.unsent > 0 ? ` (${f.unsent} not sent: backlog)` : ""}, recovered ${f.recover_ms === null ? "not within the run" : `in ${f.recover_ms} ms`}`;
}

export function summaryText(r: BenchReport): string {
  const out: string[] = [];
  out.push(`gateway bench ${r.version}: ${r.routes.length} route(s) at ${r.gateway}${r.stub ? ` (stub upstreams: ${ms(r.stub.latency_ms)}, ${r.stub.body_bytes} B)` : ""}`);
  for (const x of r.routes) {
    const g = x.open.gateway.latency;
    out.push("");
    out.push(`route ${x.name}: ${x.method} ${x.path} -> ${x.upstream || "(aggregate)"}`);
    out.push(`  max throughput   ${Math.round(x.closed.rps)} req/s (closed loop, ${r.load.connections} connections)`);
    out.push(`  latency at ${x.open.rate} req/s: p50 ${ms(g.p50)}  p90 ${ms(g.p90)}  p99 ${ms(g.p99)}  p99.9 ${ms(g.p999)}  max ${ms(g.max)}`);
    if (x.open.direct) {
      const d = x.open.direct.latency;
      out.push(`  direct upstream  p50 ${ms(d.p50)}  p90 ${ms(d.p90)}  p99 ${ms(d.p99)}  p99.9 ${ms(d.p999)}  max ${ms(d.max)}`);
      out.push(`  overhead         p50 ${signed(x.overhead!.p50)}  p90 ${signed(x.overhead!.p90)}  p99 ${signed(x.overhead!.p99)}  p99.9 ${signed(x.overhead!.p999)}`);
    }
    if (x.knee) {
      out.push(
        `  knee             ${x.knee.rate === null ? `none up to ${x.ramp.at(-1)?.rate ?? 0} req/s` : `${x.knee.rate} req/s`} (p99 limit ${ms(x.knee.limit_ms)}, ${x.knee.basis})`,
      );
    }
    for (const w of x.warnings) out.push(`  warning: ${w}`);
    for (const c of x.checks) out.push(`  ${checkText(c)}`);
  }
  if (r.faults.length > 0) out.push("", "faults:");
  for (const f of r.faults) {
    if (f.skipped !== null) {
      out.push(`  ${f.name}: skipped (${f.skipped})`);
      continue;
    }
    out.push(
      `  ${f.name} on ${f.route}: ${f.failed} failed of ${f.requests}${f.unsent > 0 ? ` (${f.unsent} not sent by the end: load generator backlog)` : ""}; p99 before ${ms(f.before.p99)}, during ${ms(f.during.p99)}, after ${ms(f.after.p99)}; recovered ${
        f.recover_ms === null ? "not within the run" : `in ${f.recover_ms} ms`
      }`,
    );
  }
  for (const c of r.checks.filter((c) => c.key.startsWith("fault:"))) out.push(`  ${checkText(c)}`);
  const missed = r.checks.filter((c) => !c.pass).length;
  out.push("");
  out.push(r.checks.length === 0 ? "RESULT: no budgets configured" : missed === 0 ? `RESULT: PASS (${r.checks.length} budgets met)` : `RESULT: FAIL (${missed} of ${r.checks.length} budgets missed)`);
  return out.join("\n");
}

function checkText(c: Check): string {
  const fmt = (v: number) => (c.unit === "ms" ? ms(v) : c.unit === "req/s" ? `${Math.round(v)} req/s` : String(v));
  const op = c.key === "min_rps" ? ">=" : "<=";
  return `${c.pass ? "PASS" : "FAIL"} ${c.key} ${op} ${fmt(c.limit)}: ${c.actual === null ? "not measured" : fmt(c.actual)}${c.note ? ` (${c.note})` : ""}`;
}
