import { expect, test } from "bun:test";
import { join } from "node:path";
import { validateConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";
import { FIXTURES } from "./helpers.ts";

const source = join(FIXTURES, "every-key.toml");
const env = { ADMIN_TOKEN: "t", JWT_SECRET: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", PARTNER_KEY: "p" };
const doc = Bun.TOML.parse(await Bun.file(source).text()) as Record<string, unknown>;

type Seg = string | number;

function leaves(node: unknown, path: Seg[] = []): Seg[][] {
  const out: Seg[][] = [path];
  if (Array.isArray(node)) node.forEach((v, i) => out.push(...leaves(v, [...path, i])));
  else if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) out.push(...leaves(v, [...path, k]));
  }
  return out;
}

function replaced(path: Seg[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(doc);
  let node: any = copy;
  for (const seg of path.slice(0, -1)) node = node[seg];
  node[path[path.length - 1]!] = value;
  return copy;
}

test("the every-key document validates as plain data too", () => {
  expect(validateConfig(structuredClone(doc), source, env).routes[0]!.name).toBe("orders");
});

test("validateConfig does not modify its input, even when refusing it", () => {
  const input = replaced(["server", "workers"], "many");
  (input.server as Record<string, unknown>).bogus = 1;
  const before = structuredClone(input);
  expect(() => validateConfig(input, source, env)).toThrow(ConfigError);
  expect(input).toEqual(before);
});

test("any value of any wrong type at any key yields a ConfigError, never a crash", () => {
  const wrong: unknown[] = [42, -1, 1.5, "x", "", true, [], [1, "a"], {}, { a: 1 }, null];
  let checked = 0;
  for (const path of leaves(doc)) {
    if (path.length === 0) continue;
    for (const value of wrong) {
      try {
        validateConfig(replaced(path, value), source, env);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw new Error(`${path.join(".")} = ${JSON.stringify(value)}: ${String(e)}`);
        for (const line of e.problems) expect(line).toMatch(/^[A-Za-z_"][^ ]*: \S/);
      }
      checked++;
    }
  }
  expect(checked).toBeGreaterThan(1000);
});
