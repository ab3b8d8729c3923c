import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPolicyCase } from "./policy.case.ts";

// A plugin at the default slot, under the same conformance suite as the built-ins.
const dir = mkdtempSync(join(tmpdir(), "plugin-case-"));
const path = join(dir, "gate.ts");
writeFileSync(
  path,
  `export default { name: "gate", create(_c, api) { return { onRequest(ctx) { if (ctx.request.headers.get("x-gate") === "deny") return api.reject(ctx, 403, "forbidden", "denied"); } }; } };`,
);

runPolicyCase({
  name: "plugins",
  sections: `[[plugins]]\nname = "gate"\npath = "${path}"`,
  routeKeys: 'plugins = [{ name = "gate" }]',
  denials: [{ status: 403, headers: { "x-gate": "deny" } }],
  admits: [{}, { headers: { "x-gate": "ok" } }],
});
