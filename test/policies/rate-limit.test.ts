import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({
  name: "rate_limit",
  routeKeys: 'rate_limits = [{ algorithm = "fixed_window", limit = 1, window = "1m", key = "header:x-client" }]',
  // The first request of a client takes its one slot; the next is refused.
  denials: [{ status: 429, headers: { "x-client": "deny" }, after: [{ headers: { "x-client": "deny" } }] }],
  admits: [{ headers: { "x-client": "a" } }, { headers: { "x-client": "b" } }],
});
