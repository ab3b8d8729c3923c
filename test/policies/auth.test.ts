import { runPolicyCase } from "./policy.case.ts";

runPolicyCase({
  name: "auth",
  routeKeys: 'auth = "api_key"\nroles = ["admin"]',
  sections: `
[[consumers]]
name = "ops"
api_keys = ["key-ops"]
roles = ["admin"]
[[consumers]]
name = "guest"
api_keys = ["key-guest"]
`,
  denials: [
    { status: 401 },
    { status: 401, headers: { "x-api-key": "wrong" } },
    { status: 403, headers: { "x-api-key": "key-guest" } },
  ],
  admits: [{ headers: { "x-api-key": "key-ops" } }],
});
