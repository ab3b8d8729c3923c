import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({ name: "strip_prefix", routeKeys: 'strip_prefix = "/r"', admits: [{}] });
