/** Bad [cors], [compression], [ip] and route keys: refused at load with their key paths. */
import { describe, expect, test } from "bun:test";
import { testConfig } from "../helpers/config.ts";
import { withRoutes } from "../helpers/handler.ts";

function problems(toml: string): string {
  try {
    testConfig(toml);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("config was accepted");
}

const route = (keys: string) => withRoutes(`[[routes]]\nname = "r"\npath = "/r/*"\nupstream = "u"\n${keys}\n`);

describe("edge config", () => {
  const cases: [string, string, string][] = [
    ["ip entry not a CIDR", 'ip = { allow = ["10.0.0.0/33"] }', "routes[0].ip.allow[0]"],
    ["ip entry not an address", 'ip = { deny = ["bogus"] }', "routes[0].ip.deny[0]"],
    ["ip unknown key", 'ip = { block = ["10.0.0.0/8"] }', "routes[0].ip"],
    ["cors origin with a path", 'cors = { origins = ["https://a.example/"] }', "routes[0].cors.origins[0]"],
    ["cors * with credentials", 'cors = { origins = ["*"], credentials = true }', "routes[0].cors.origins"],
    ["cors without origins", "cors = { methods = [\"GET\"] }", "routes[0].cors.origins"],
    ["cors bad header name", 'cors = { origins = ["https://a.example"], headers = ["x bad"] }', "routes[0].cors.headers[0]"],
    ["cors bad max_age", 'cors = { origins = ["https://a.example"], max_age = "soon" }', "routes[0].cors.max_age"],
    ["cors unknown key", 'cors = { origins = ["https://a.example"], allow = true }', "routes[0].cors"],
    ["cors wrong type", 'cors = "yes"', "routes[0].cors"],
    ["compression unknown algorithm", 'compression = { algorithms = ["deflate"] }', "routes[0].compression.algorithms[0]"],
    ["compression twice", 'compression = { algorithms = ["gzip", "gzip"] }', "routes[0].compression.algorithms"],
    ["compression bad size", 'compression = { min_size = "big" }', "routes[0].compression.min_size"],
    ["compression bad type", 'compression = { types = ["json"] }', "routes[0].compression.types[0]"],
    ["compression level out of range", "compression = { levels = { br = 12 } }", "routes[0].compression.levels.br"],
    ["compression gzip level 0", "compression = { levels = { gzip = 0 } }", "routes[0].compression.levels.gzip"],
  ];
  for (const [what, keys, path] of cases) {
    test(`${what}: ${path}`, () => {
      expect(problems(route(keys))).toContain(path);
    });
  }

  test("global sections: [ip], [cors], [compression] report their own paths", () => {
    expect(problems(withRoutes("", '[ip]\nallow = ["300.0.0.1"]'))).toContain("ip.allow[0]");
    expect(problems(route("") + '\n[cors]\norigins = ["*"]\ncredentials = true\n')).toContain("cors.origins");
    expect(problems(withRoutes("", "[compression]\nmin_size = 5"))).toContain("compression.min_size");
    const twoRoutes = withRoutes('[[routes]]\nname = "a"\npath = "/a"\nupstream = "u"\n[[routes]]\nname = "b"\npath = "/b"\nupstream = "u"\n') + '\n[cors]\nmax_age = "1m"\n';
    expect(problems(twoRoutes).split("cors.origins").length).toBe(2);
  });

  test("the global IP filter as [server] ip: same table, its own key paths, not both", () => {
    const cfg = testConfig(withRoutes("", 'ip = { deny = ["203.0.113.0/24"] }'));
    expect(cfg.ip).toEqual({ allow: [], deny: ["203.0.113.0/24"] });
    expect(problems(withRoutes("", 'ip = { allow = ["300.0.0.1"] }'))).toContain("server.ip.allow[0]");
    expect(problems(withRoutes("", 'ip = { deny = ["10.0.0.0/8"] }\n[ip]\ndeny = ["10.0.0.0/8"]'))).toContain("server.ip: given twice");
    expect(problems(withRoutes("", 'ip = { deny = ["10.0.0.0/8"], bogus = 1 }'))).toContain("server.ip");
  });

  test("good tables load with defaults and the route's override merged later", () => {
    const c = testConfig(route('cors = { credentials = true }\ncompression = { algorithms = ["gzip"] }\nip = { allow = ["::1", "10.0.0.0/8"] }') + '\n[cors]\norigins = ["https://a.example"]\nmax_age = "90s"\n[compression]\nmin_size = "2KB"\n');
    expect(c.cors).toEqual({ origins: ["https://a.example"], max_age: 90 });
    expect(c.compression).toEqual({ min_size: 2048 });
    expect(c.routes[0]!.cors).toEqual({ credentials: true });
    expect(c.routes[0]!.compression).toEqual({ algorithms: ["gzip"] });
    expect(c.routes[0]!.ip).toEqual({ allow: ["::1", "10.0.0.0/8"], deny: [] });
  });
});
