/** The shape of bench-report.json (and what bench-report.html is drawn from). */
import type { Check } from "./budget.ts";
import type { FaultResult } from "./faults.ts";
import type { LoadShape, RouteResult } from "./measure.ts";

export interface BenchReport {
  tool: "gateway bench";
  version: string;
  commit: string;
  date: string;
  command: string;
  config: string;
  /** Where the load went. */
  gateway: string;
  /** The stubs' shape with --stub; null: the config's own upstreams. */
  stub: { latency_ms: number; body_bytes: number } | null;
  load: LoadShape;
  routes: (RouteResult & { checks: Check[] })[];
  faults: FaultResult[];
  checks: Check[];
  pass: boolean;
}
