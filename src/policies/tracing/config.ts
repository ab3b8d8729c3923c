import { Type } from "@sinclair/typebox";
import { checkUrl } from "../../config/addresses.ts";
import type { NormalizeContext } from "../../config/normalize-common.ts";
import { Bool, NonEmpty, oneOf, opt, table } from "../../config/schema-kit.ts";

/** `[tracing]`: W3C Trace Context in and out. On by default (propagate = true) even without the section. */
export interface TracingConfig {
  propagate: boolean;
  /** Whose traceparent to believe: "any" client, or only peers in server.trusted_proxies. */
  accept: "any" | "trusted_proxies";
  otlp_url: string | null;
  /** For traces the gateway starts: the share marked sampled (flags 01). */
  sample_ratio: number;
}

export const TracingSection = table({
  propagate: opt(Bool),
  accept: opt(oneOf(["any", "trusted_proxies"] as const)),
  otlp_url: opt(NonEmpty),
  sample_ratio: opt(Type.Number({ minimum: 0, maximum: 1, errorMessage: "expected a number from 0 to 1" })),
});

export const tracingSectionKeys = { tracing: opt(TracingSection) };

export const TRACING_DEFAULTS: TracingConfig = { propagate: true, accept: "any", otlp_url: null, sample_ratio: 1 };

export function normalizeTracing(ctx: NormalizeContext, raw: Partial<TracingConfig> | undefined): TracingConfig {
  if (raw === undefined) return { ...TRACING_DEFAULTS };
  const otlp = raw.otlp_url ?? null;
  if (otlp !== null) {
    const bad = checkUrl(otlp, ["http:", "https:"]);
    if (bad !== null) ctx.problems.add(["tracing", "otlp_url"], bad);
  }
  return {
    propagate: raw.propagate ?? TRACING_DEFAULTS.propagate,
    accept: raw.accept ?? TRACING_DEFAULTS.accept,
    otlp_url: otlp,
    sample_ratio: raw.sample_ratio ?? TRACING_DEFAULTS.sample_ratio,
  };
}
