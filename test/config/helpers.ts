import { join } from "node:path";
import type { GatewayConfig } from "../../src/config/types.ts";
import { ConfigError } from "../../src/errors.ts";
import { testConfig } from "../helpers/config.ts";

export const FIXTURES = join(import.meta.dir, "../fixtures/config");

/** Parses as if the file lived in test/fixtures/config (relative key and cert paths resolve there). */
export function parse(toml: string, env: Record<string, string> = {}): GatewayConfig {
  return testConfig(toml, env);
}

/** The problems a config is refused with; fails the test when it is accepted. */
export function problemsOf(toml: string, env: Record<string, string> = {}): string[] {
  try {
    parse(toml, env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error("expected the config to be refused, it was accepted");
}

/** One upstream "api" that routes can point at. */
export const UPSTREAM = `
[[upstreams]]
name = "api"
targets = [{ url = "http://127.0.0.1:3001" }]
`;

/** A valid config plus `extra` TOML (appended, so it can add tables and [[routes]]). */
export function withUpstream(extra: string): string {
  return `${UPSTREAM}\n${extra}`;
}

/** A route on upstream "api" with extra keys, e.g. route('auth = "jwt"'). */
export function route(keys = "", name = "r"): string {
  return `
[[routes]]
name = "${name}"
path = "/r/*"
upstream = "api"
${keys}
`;
}
