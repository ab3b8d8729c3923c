import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({ name: "compression", routeKeys: "compression = true", admits: [{}, { headers: { "accept-encoding": "gzip" } }] });
