import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({
  name: "idempotency",
  routeKeys: 'idempotency = { required = true, ttl = "1h" }',
  denials: [
    { method: "POST", status: 400 },
    { method: "POST", headers: { "idempotency-key": "bare-token" }, status: 400 },
    { method: "PATCH", headers: { "idempotency-key": '"k";A=1' }, status: 400 },
  ],
  admits: [{ method: "POST", headers: { "idempotency-key": '"conformance-1"' } }, { method: "GET" }, { method: "PUT" }],
});
