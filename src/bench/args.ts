/**
 * The command line of `gateway bench`. Every flag overrides the `[bench]`
 * key of the same name; a bad flag is an error that names it (exit 2), never
 * a silently ignored word.
 */
import { FAULTS, type FaultName, parseLatency } from "./config.ts";
import { parseDuration, parseSize } from "../config/units.ts";

export const BENCH_HELP = `gateway bench: measure the config's routes against their latency budgets

Usage:
  gateway bench [--config FILE] [options]

Where the load goes:
  --config FILE         the gateway config (default ./config.toml); its routes are measured
  --target URL          a gateway already running at URL (loopback or a configured target host)
                        instead of starting one from FILE
  --stub                replace every upstream target by a built-in stub upstream
  --stub-latency T      the stubs' answer latency, e.g. "2ms", "500us" ([bench] stub.latency)
  --stub-body SIZE      the stubs' body size, e.g. "1KB" ([bench] stub.body)
  --route NAME          measure only this route (repeatable)
  --header "N: V"       add a request header to every request, e.g. credentials (repeatable)

Load ([bench] keys of the same name):
  --duration T          length of each measured phase (default 5s)
  --warmup T            closed-loop warm-up per route before measuring (default 1s)
  --connections N       connections of the load generator (default 16)
  --rate N              open-model rate in req/s (default: half the closed-loop maximum)
  --ramp-steps N        steps of the knee-finding ramp, 0 for none (default 5)
  --max-requests N      bound on the requests of each phase (default none)
  --faults [LIST]       fault scenarios with load running: target,reload,redis,slow
                        (no list, or "all": every one)

Output:
  --json                print the JSON report on stdout instead of the summary
  --out DIR             write bench-report.html and bench-report.json into DIR (default .)
  --no-report           write no report files

Exit codes: 0 every budget met, 1 a budget missed, 2 bad command line or
config, 3 the bench could not run (gateway or stubs did not start).`;

export interface BenchArgs {
  config: string;
  target: string | null;
  stub: boolean;
  stubLatency: number | null;
  stubBody: number | null;
  routes: string[];
  headers: [string, string][];
  duration: number | null;
  warmup: number | null;
  connections: number | null;
  rate: number | null;
  rampSteps: number | null;
  maxRequests: number | null;
  faults: FaultName[] | null;
  json: boolean;
  out: string;
  report: boolean;
}

export type ParsedArgs = BenchArgs | { help: true } | { error: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function parseBenchArgs(argv: readonly string[]): ParsedArgs {
  const a: BenchArgs = {
    config: "config.toml",
    target: null,
    stub: false,
    stubLatency: null,
    stubBody: null,
    routes: [],
    headers: [],
    duration: null,
    warmup: null,
    connections: null,
    rate: null,
    rampSteps: null,
    maxRequests: null,
    faults: null,
    json: false,
    out: ".",
    report: true,
  };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]!;
    let inline: string | undefined;
    const eq = flag.indexOf("=");
    if (flag.startsWith("--") && eq > 0) {
      inline = flag.slice(eq + 1);
      flag = flag.slice(0, eq);
    }
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new ArgError(`${flag} needs a value`);
      return v;
    };
    try {
      switch (flag) {
        case "--help":
        case "-h":
          return { help: true };
        case "--config":
        case "-c":
          a.config = value();
          break;
        case "--target":
          a.target = parseTarget(value());
          break;
        case "--stub":
          a.stub = true;
          break;
        case "--stub-latency":
          a.stubLatency = latency(flag, value());
          break;
        case "--stub-body":
          a.stubBody = size(flag, value());
          break;
        case "--route":
          a.routes.push(value());
          break;
        case "--header":
          a.headers.push(parseHeader(value()));
          break;
        case "--duration":
          a.duration = duration(flag, value(), 1);
          break;
        case "--warmup":
          a.warmup = duration(flag, value(), 0);
          break;
        case "--connections":
          a.connections = integer(flag, value(), 1, 10_000);
          break;
        case "--rate":
          a.rate = integer(flag, value(), 0, 10_000_000);
          break;
        case "--ramp-steps":
          a.rampSteps = integer(flag, value(), 0, 50);
          break;
        case "--max-requests":
          a.maxRequests = integer(flag, value(), 1, Number.MAX_SAFE_INTEGER);
          break;
        case "--faults": {
          // The list is optional: "--faults" alone (or followed by another flag) means all of them.
          const next = inline ?? argv[i + 1];
          if (next === undefined || next.startsWith("--")) a.faults = [...FAULTS];
          else {
            if (inline === undefined) i++;
            a.faults = parseFaults(next);
          }
          break;
        }
        case "--json":
          a.json = true;
          break;
        case "--out":
          a.out = value();
          break;
        case "--no-report":
          a.report = false;
          break;
        default:
          return { error: `unknown argument "${argv[i]}" (see gateway bench --help)` };
      }
    } catch (e) {
      if (e instanceof ArgError) return { error: e.message };
      throw e;
    }
  }
  if (a.target !== null && a.stub) return { error: "--stub and --target exclude each other: stubs replace the targets of a gateway the bench starts itself" };
  return a;
}

class ArgError extends Error {}

function parseTarget(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ArgError(`--target: expected a URL like http://127.0.0.1:8080, got ${JSON.stringify(v)}`);
  }
  if (u.protocol !== "http:") throw new ArgError(`--target: only http:// is supported, got ${JSON.stringify(v)}`);
  return u.origin;
}

function parseHeader(v: string): [string, string] {
  const colon = v.indexOf(":");
  const name = colon > 0 ? v.slice(0, colon).trim() : "";
  if (!TOKEN.test(name)) throw new ArgError(`--header: expected "Name: value", got ${JSON.stringify(v)}`);
  const val = v.slice(colon + 1).trim();
  if (/[\r\n\0]/.test(val)) throw new ArgError(`--header ${name}: CR, LF and NUL are not allowed`);
  return [name, val];
}

export function parseFaults(v: string): FaultName[] {
  if (v === "all") return [...FAULTS];
  const out: FaultName[] = [];
  for (const f of v.split(",").map((s) => s.trim())) {
    if (!(FAULTS as readonly string[]).includes(f)) throw new ArgError(`--faults: unknown fault ${JSON.stringify(f)} (expected ${FAULTS.join(", ")} or all)`);
    if (!out.includes(f as FaultName)) out.push(f as FaultName);
  }
  return out;
}

function duration(flag: string, v: string, min: number): number {
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch {
    throw new ArgError(`${flag}: expected a duration like "500ms" or "5s", got ${JSON.stringify(v)}`);
  }
  if (ms < min) throw new ArgError(`${flag}: must be at least ${min}ms`);
  return ms;
}

function latency(flag: string, v: string): number {
  try {
    return parseLatency(v);
  } catch {
    throw new ArgError(`${flag}: expected a latency like "500us", "2ms", got ${JSON.stringify(v)}`);
  }
}

function size(flag: string, v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  try {
    return parseSize(v);
  } catch {
    throw new ArgError(`${flag}: expected a size like "1KB" or 512, got ${JSON.stringify(v)}`);
  }
}

function integer(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new ArgError(`${flag}: expected a whole number, got ${JSON.stringify(v)}`);
  const n = Number(v);
  if (n < min || n > max) throw new ArgError(`${flag}: expected ${min}-${max}, got ${n}`);
  return n;
}
