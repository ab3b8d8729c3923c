import { runPolicyCase } from "./policy.case.ts";

// The in-process handler's peer is 127.0.0.1.
runPolicyCase({ name: "ip_filter", routeKeys: 'ip = { deny = ["127.0.0.0/8"] }', denials: [{ status: 403 }] });
runPolicyCase({ name: "ip_filter", routeKeys: 'ip = { allow = ["127.0.0.1", "::1"] }', admits: [{}] });
