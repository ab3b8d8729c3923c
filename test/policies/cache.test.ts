import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({
  name: "cache",
  routeKeys: 'cache = { ttl = "60s" }',
  // RFC 9111 §5.2.1.7: only-if-cached with nothing stored is a 504.
  denials: [{ headers: { "cache-control": "only-if-cached" }, status: 504 }],
  // One GET: a second miss on the same key would wait for the first one's fill lock (coalescing).
  admits: [{ method: "POST" }, {}],
});
