import { describe, expect, test } from "bun:test";
import { EMPTY_PARAMS, Router } from "../../src/router/radix.ts";
import { routerConformance } from "./router.case.ts";

routerConformance("compiled", () => new Router<string>());
routerConformance("interpreted", () => new Router<string>({ compiled: false }));

describe("add: invalid input throws with the pattern and the problem", () => {
  const cases: [string, string[], string[], string][] = [
    ["", [], [], 'invalid route path "": must not be empty'],
    ["api/users", [], [], 'invalid route path "api/users": must start with "/"'],
    ["/a//b", [], [], 'invalid route path "/a//b": empty segment at index 3'],
    ["/a/*/b", [], [], 'invalid route path "/a/*/b": "*" must be the last segment'],
    ["/a*", [], [], 'invalid route path "/a*": "*" must be a whole segment'],
    ["/a/:", [], [], 'invalid route path "/a/:": empty param name at index 3'],
    ["/a/:x-y", [], [], 'invalid route path "/a/:x-y": invalid param name ":x-y" at index 3 (use A-Z a-z 0-9 _)'],
    ["/a/:id/b/:id", [], [], 'invalid route path "/a/:id/b/:id": duplicate param name ":id"'],
    ["/a?b=1", [], [], 'invalid route path "/a?b=1": invalid character "?" at index 2'],
    ["/café", [], [], 'invalid route path "/café": non-ASCII character "é" at index 4 (percent-encode it)'],
    ["/a/../b", [], [], 'invalid route path "/a/../b": dot segment ".." at index 3'],
    ["/a%2", [], [], 'invalid route path "/a%2": malformed percent-escape at index 2'],
    ["/a", ["get"], [], 'route "/a": method "get" must be upper-case'],
    ["/a", ["GET", "GET"], [], 'route "/a": duplicate method "GET"'],
    ["/a", ["G ET"], [], 'route "/a": invalid method "G ET"'],
    ["/a", [], ["api.example.com:8080"], 'route "/a": host "api.example.com:8080": must not include a port'],
    ["/a", [], ["*"], 'route "/a": host "*": a bare "*" is not a host pattern; leave hosts empty to match any host'],
    ["/a", [], ["a.*.com"], 'route "/a": host "a.*.com": "*" is only allowed as the whole first label ("*.example.com")'],
    ["/a", [], ["a.example.com", "A.example.com"], 'route "/a": duplicate host "A.example.com"'],
  ];
  for (const [path, methods, hosts, message] of cases) {
    test(JSON.stringify([path, methods, hosts]), () => {
      expect(() => new Router<string>().add(path, methods, hosts, "v")).toThrow(message);
    });
  }
});

describe("add: duplicates", () => {
  test("same host, path and method", () => {
    const r = new Router<string>();
    r.add("/users/:id", ["GET", "PUT"], [], "a");
    expect(() => r.add("/users/:id", ["PUT"], [], "b")).toThrow(
      'duplicate route: PUT /users/:id on any host conflicts with "/users/:id"',
    );
  });
  test("a different param name is the same route shape", () => {
    const r = new Router<string>();
    r.add("/users/:id", ["GET"], [], "a");
    expect(() => r.add("/users/:name", ["GET"], [], "b")).toThrow(
      'duplicate route: GET /users/:name on any host conflicts with "/users/:id"',
    );
  });
  test("two every-method routes on one path", () => {
    const r = new Router<string>();
    r.add("/a/*", [], ["api.example.com"], "a");
    expect(() => r.add("/a/*", [], ["API.example.com"], "b")).toThrow(
      'duplicate route: every method /a/* on host api.example.com conflicts with "/a/*"',
    );
  });
  test("not duplicates: other method, other host, methods [] next to named methods", () => {
    const r = new Router<string>();
    r.add("/a", ["GET"], [], "get");
    r.add("/a", ["POST"], [], "post");
    r.add("/a", ["GET"], ["x.test"], "x");
    r.add("/a", [], [], "any");
    expect(r.find("PUT", "h", "/a")?.value).toBe("any");
  });
  test("a failing add changes nothing", () => {
    const r = new Router<string>();
    r.add("/a", ["GET"], ["b.test"], "b");
    // The clash is on the second host; the first must not have been added either.
    expect(() => r.add("/a", ["GET"], ["a.test", "b.test"], "new")).toThrow("duplicate route");
    expect(r.find("GET", "a.test", "/a")).toBeNull();
    expect(() => r.add("/new/:x/:x", ["GET"], [], "bad")).toThrow();
    expect(r.find("GET", "h", "/new/1/2")).toBeNull();
  });
});

describe("Router", () => {
  test("routes added after a lookup are found (the compiled matcher is rebuilt)", () => {
    const r = new Router<string>();
    r.add("/a", ["GET"], [], "a");
    expect(r.find("GET", "h", "/b/1")).toBeNull();
    r.add("/b/:id", ["GET"], [], "b");
    expect(r.find("GET", "h", "/b/1")).toEqual({ value: "b", params: { id: "1" } });
  });
  test("compile() builds the matchers up front and returns the router", () => {
    const r = new Router<string>();
    r.add("/a/:x", ["GET"], [], "any");
    r.add("/a/:x", ["GET"], ["h.test"], "host");
    r.add("/a/:x", ["GET"], ["*.test"], "wild");
    expect(r.compile()).toBe(r);
    expect(r.find("GET", "h.test", "/a/1")).toEqual({ value: "host", params: { x: "1" } });
    expect(r.find("GET", "w.test", "/a/1")).toEqual({ value: "wild", params: { x: "1" } });
    expect(r.find("GET", "other", "/a/1")).toEqual({ value: "any", params: { x: "1" } });
  });
  test("a static answer table grows when a route names a new method", () => {
    const r = new Router<string>();
    r.add("/a", [], [], "any");
    r.add("/a", ["GET"], [], "get");
    r.add("/b", ["PURGE"], [], "purge");
    expect(r.find("PURGE", "h", "/a")?.value).toBe("any");
    expect(r.find("PURGE", "h", "/b")?.value).toBe("purge");
    expect(r.find("HEAD", "h", "/a")?.value).toBe("get");
    expect(r.find("BREW", "h", "/a")?.value).toBe("any");
    expect(r.find("BREW", "h", "/b")).toEqual({ value: undefined, allow: "PURGE" });
  });
  test("routes without params share one frozen empty params object", () => {
    const r = new Router<string>();
    r.add("/a", ["GET"], [], "a");
    r.add("/b/c", ["GET"], [], "b");
    const a = r.find("GET", "h", "/a");
    const b = r.find("GET", "h", "/b/c");
    expect(a && "params" in a && a.params).toBe(EMPTY_PARAMS);
    expect(b && "params" in b && b.params).toBe(EMPTY_PARAMS);
    expect(Object.isFrozen(EMPTY_PARAMS)).toBe(true);
  });
  test("a 405 for one matching path is a shared frozen answer", () => {
    const r = new Router<string>();
    r.add("/a", ["GET"], [], "a");
    const m1 = r.find("POST", "h", "/a");
    expect(m1).toEqual({ value: undefined, allow: "GET, HEAD" });
    expect(r.find("PUT", "h", "/a")).toBe(m1!);
  });
  test("routes of one shape may name their params differently per method", () => {
    for (const compiled of [true, false]) {
      const r = new Router<string>({ compiled });
      r.add("/u/:id", ["GET"], [], "get");
      r.add("/u/:userId", ["DELETE"], [], "delete");
      expect(r.find("GET", "h", "/u/7")).toEqual({ value: "get", params: { id: "7" } });
      expect(r.find("DELETE", "h", "/u/7")).toEqual({ value: "delete", params: { userId: "7" } });
      expect(r.find("HEAD", "h", "/u/a%20b")).toEqual({ value: "get", params: { id: "a b" } });
    }
  });
});

describe("compiled and interpreted matchers agree on random tables", () => {
  // Seeded, so a failure reproduces.
  const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
  const words = ["a", "b", "ab", "abc", "users", "user", "u", "v1", "v2", "x", "%41", "x:y"];
  const methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "PURGE"];
  for (const seed of seeds) {
    test(`seed ${seed}`, () => {
      const rnd = prng(seed);
      const pick = <X>(xs: readonly X[]) => xs[Math.floor(rnd() * xs.length)]!;
      const compiled = new Router<string>();
      const walked = new Router<string>({ compiled: false });
      const hostsPool = [[], [], [], ["h1.test"], ["*.test"], ["h1.test", "h2.test"]];
      for (let i = 0; i < 150; i++) {
        const depth = 1 + Math.floor(rnd() * 5);
        const segs: string[] = [];
        for (let d = 0; d < depth; d++) {
          const r = rnd();
          segs.push(r < 0.25 ? `:p${d}` : r < 0.3 && d === depth - 1 ? "*" : pick(words));
        }
        const path = "/" + segs.join("/") + (rnd() < 0.1 && segs.at(-1) !== "*" ? "/" : "");
        const ms = rnd() < 0.15 ? [] : [...new Set([pick(methods), pick(methods)])];
        const hosts = pick(hostsPool);
        const args = [path, ms, hosts, `${path} ${ms.join(",")} ${hosts.join(",")}`] as const;
        let threw = false;
        try {
          compiled.add(...args);
        } catch {
          threw = true;
        }
        if (!threw) walked.add(...args);
      }
      for (let i = 0; i < 3000; i++) {
        const depth = Math.floor(rnd() * 6);
        const segs: string[] = [];
        for (let d = 0; d < depth; d++) segs.push(rnd() < 0.7 ? pick(words) : pick(["", "z", "%2F", "%ZZ", "q%20r", "users"]));
        const path = "/" + segs.join("/");
        const method = pick([...methods, "OPTIONS", "BREW"]);
        const host = pick(["h1.test", "h2.test", "x.test", "a.b.test", "other"]);
        const a = compiled.find(method, host, path);
        const b = walked.find(method, host, path);
        expect([method, host, path, a]).toEqual([method, host, path, b]);
      }
    });
  }

  test("a large table (2000 routes, split into helper functions) agrees and answers", () => {
    const compiled = new Router<number>();
    const walked = new Router<number>({ compiled: false });
    const paths: string[] = [];
    for (let i = 0; i < 400; i++) {
      for (const p of [`/r${i}`, `/r${i}/:id`, `/r${i}/:id/items`, `/r${i}/:id/items/:item`, `/r${i}/files/*`]) {
        compiled.add(p, ["GET"], [], paths.length);
        walked.add(p, ["GET"], [], paths.length);
        paths.push(p);
      }
    }
    for (let i = 0; i < 400; i += 7) {
      for (const path of [`/r${i}`, `/r${i}/42`, `/r${i}/42/items`, `/r${i}/42/items/9`, `/r${i}/files/a/b`, `/r${i}/42/other`]) {
        expect(compiled.find("GET", "h", path)).toEqual(walked.find("GET", "h", path));
      }
      expect(compiled.find("GET", "h", `/r${i}/42/items/9`)).toEqual({ value: paths.indexOf(`/r${i}/:id/items/:item`), params: { id: "42", item: "9" } });
    }
  });
});

function prng(seed: number): () => number {
  // mulberry32
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
