import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FACTORIES } from "../../src/policies/index.ts";

test("every recipe entry runs the policy conformance suite (test/policies/<name>.test.ts)", () => {
  for (const f of FACTORIES) expect(existsSync(join(import.meta.dir, `${f.name.replace(/_/g, "-")}.test.ts`))).toBe(true);
});

test("recipe entry names are unique", () => {
  const names = FACTORIES.map((f) => f.name);
  expect(new Set(names).size).toBe(names.length);
});
