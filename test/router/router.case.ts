/**
 * What any router of this gateway must do (STYLE.md: interchangeable
 * implementations share one conformance suite). Run it with
 * `routerConformance(name, factory)` from a *.test.ts file.
 */

import { describe, expect, test } from "bun:test";

export interface RouterUnderTest<T> {
  add(path: string, methods: readonly string[], hosts: readonly string[], value: T): void;
  find(method: string, host: string, path: string): { value: T; params: Record<string, string> } | { value: undefined; allow: string } | null;
}

type Table = [path: string, methods: string[], hosts: string[], value: string][];

export function routerConformance(name: string, make: () => RouterUnderTest<string>): void {
  const build = (table: Table) => {
    const r = make();
    for (const [path, methods, hosts, value] of table) r.add(path, methods, hosts, value);
    return r;
  };
  /** The matched value, "405 <allow>", or null. */
  const hit = (r: RouterUnderTest<string>, method: string, path: string, host = "api.example.com") => {
    const m = r.find(method, host, path);
    if (m === null) return null;
    return "allow" in m ? `405 ${m.allow}` : m.value;
  };
  const params = (r: RouterUnderTest<string>, method: string, path: string, host = "api.example.com") => {
    const m = r.find(method, host, path);
    return m !== null && "params" in m ? { ...m.params } : m;
  };

  describe(`${name}: static routes`, () => {
    const r = build([
      ["/", ["GET"], [], "root"],
      ["/a", ["GET"], [], "a"],
      ["/a/", ["GET"], [], "a/"],
      ["/a/b", ["GET"], [], "ab"],
      ["/Users", ["GET"], [], "Users"],
      ["/v1/things:batchGet", ["POST"], [], "batch"],
      ["/caf%C3%A9", ["GET"], [], "cafe"],
    ]);
    test("exact paths match, nothing else does", () => {
      expect(hit(r, "GET", "/")).toBe("root");
      expect(hit(r, "GET", "/a")).toBe("a");
      expect(hit(r, "GET", "/a/b")).toBe("ab");
      expect(hit(r, "GET", "/ab")).toBeNull();
      expect(hit(r, "GET", "/a/b/c")).toBeNull();
      expect(hit(r, "GET", "/b")).toBeNull();
    });
    test("the trailing slash is significant", () => {
      expect(hit(r, "GET", "/a/")).toBe("a/");
      expect(hit(r, "GET", "/a/b/")).toBeNull();
    });
    test("paths are case-sensitive and matched raw", () => {
      expect(hit(r, "GET", "/Users")).toBe("Users");
      expect(hit(r, "GET", "/users")).toBeNull();
      expect(hit(r, "GET", "/caf%C3%A9")).toBe("cafe");
      expect(hit(r, "GET", "/caf%c3%a9")).toBeNull();
      expect(hit(r, "GET", "/%61")).toBeNull(); // not decoded into "/a"
    });
    test('":" inside a segment is literal', () => {
      expect(hit(r, "POST", "/v1/things:batchGet")).toBe("batch");
      expect(hit(r, "POST", "/v1/things")).toBeNull();
    });
    test("a static hit has the shared frozen empty params and allocates no new match", () => {
      const a = r.find("GET", "h", "/a/b");
      const b = r.find("GET", "h", "/a/b");
      expect(a).toBe(b!);
      expect(a && "params" in a && Object.isFrozen(a.params) && Object.keys(a.params).length).toBe(0);
    });
    test("paths that are not origin-form match nothing", () => {
      expect(hit(r, "GET", "")).toBeNull();
      expect(hit(r, "GET", "*")).toBeNull();
      expect(hit(r, "GET", "a")).toBeNull();
      expect(hit(r, "GET", "http://x/a")).toBeNull();
    });
  });

  describe(`${name}: params`, () => {
    const r = build([
      ["/users/:id", ["GET"], [], "user"],
      ["/users/:id/posts/:post", ["GET"], [], "post"],
      ["/orgs/:org/repos/:repo/issues/:number", ["GET"], [], "issue"],
      ["/files/:name/", ["GET"], [], "dir"],
      ["/x/:__proto__", ["GET"], [], "proto"],
    ]);
    test("capture one whole segment each", () => {
      expect(params(r, "GET", "/users/42")).toEqual({ id: "42" });
      expect(params(r, "GET", "/users/42/posts/7")).toEqual({ id: "42", post: "7" });
      expect(params(r, "GET", "/orgs/acme/repos/api/issues/1347")).toEqual({ org: "acme", repo: "api", number: "1347" });
      expect(params(r, "GET", "/files/a/")).toEqual({ name: "a" });
    });
    test("never empty, never across a slash", () => {
      expect(hit(r, "GET", "/users/")).toBeNull();
      expect(hit(r, "GET", "/users//posts/7")).toBeNull();
      expect(hit(r, "GET", "/users/42/")).toBeNull();
      expect(hit(r, "GET", "/users/42/posts")).toBeNull();
      expect(hit(r, "GET", "/files/a")).toBeNull();
    });
    test("are percent-decoded after matching", () => {
      expect(params(r, "GET", "/users/a%20b")).toEqual({ id: "a b" });
      expect(params(r, "GET", "/users/a%2Fb")).toEqual({ id: "a/b" });
      expect(params(r, "GET", "/users/%E2%9C%93/posts/x%25y")).toEqual({ id: "✓", post: "x%y" });
      expect(params(r, "GET", "/users/caf%C3%A9")).toEqual({ id: "café" });
    });
    test("a malformed escape leaves that param's raw text", () => {
      expect(params(r, "GET", "/users/100%")).toEqual({ id: "100%" });
      expect(params(r, "GET", "/users/%ZZ")).toEqual({ id: "%ZZ" });
      expect(params(r, "GET", "/users/%E2%9C")).toEqual({ id: "%E2%9C" }); // truncated UTF-8
      expect(params(r, "GET", "/users/%FF/posts/a%20b")).toEqual({ id: "%FF", post: "a b" });
    });
    test('a param named "__proto__" is an own property', () => {
      const m = r.find("GET", "h", "/x/evil");
      expect(m && "params" in m && Object.getOwnPropertyDescriptor(m.params, "__proto__")?.value).toBe("evil");
      expect(m && "params" in m && Object.getPrototypeOf(m.params)).toBe(Object.prototype);
    });
  });

  describe(`${name}: wildcards`, () => {
    const r = build([
      ["/static/*", ["GET"], [], "static"],
      ["/u/:id/*", ["GET"], [], "u"],
      ["/*", ["GET"], [], "fallback"],
    ]);
    test('match the bare prefix, its trailing slash, and anything deeper, with the rest in "*"', () => {
      expect(params(r, "GET", "/static")).toEqual({ "*": "" });
      expect(params(r, "GET", "/static/")).toEqual({ "*": "" });
      expect(params(r, "GET", "/static/js/app.js")).toEqual({ "*": "js/app.js" });
      expect(params(r, "GET", "/static//x")).toEqual({ "*": "/x" });
      expect(params(r, "GET", "/static/a%20b/c")).toEqual({ "*": "a b/c" });
    });
    test("need a segment boundary", () => {
      expect(params(r, "GET", "/staticx")).toEqual({ "*": "staticx" }); // the root fallback, not /static/*
    });
    test("combine with params", () => {
      expect(params(r, "GET", "/u/7")).toEqual({ id: "7", "*": "" });
      expect(params(r, "GET", "/u/7/a/b")).toEqual({ id: "7", "*": "a/b" });
    });
    test("a root wildcard catches everything else", () => {
      expect(params(r, "GET", "/")).toEqual({ "*": "" });
      expect(params(r, "GET", "/anything/at/all")).toEqual({ "*": "anything/at/all" });
    });
  });

  describe(`${name}: most specific wins whatever the insertion order`, () => {
    const table: Table = [
      ["/a/b", ["GET"], [], "static"],
      ["/a/:x", ["GET"], [], "param"],
      ["/a/*", ["GET"], [], "wild"],
      ["/*", ["GET"], [], "root"],
      ["/a/b/c", ["GET"], [], "deep"],
    ];
    const expected: [string, string][] = [
      ["/a/b", "static"],
      ["/a/c", "param"],
      ["/a", "wild"],
      ["/a/", "wild"],
      ["/a/b/c", "deep"],
      ["/a/b/d", "wild"],
      ["/b", "root"],
    ];
    for (const order of permutations(table.map((_, i) => i))) {
      test(`order ${order.join("")}`, () => {
        const r = build(order.map((i) => table[i]!));
        for (const [path, value] of expected) expect([path, hit(r, "GET", path)]).toEqual([path, value]);
      });
    }
    test("a longer static prefix wins", () => {
      const r = build([
        ["/api/*", ["GET"], [], "api"],
        ["/api/v1/*", ["GET"], [], "v1"],
        ["/api/v1/users/:id", ["GET"], [], "user"],
      ]);
      expect(hit(r, "GET", "/api/v1/users")).toBe("v1");
      expect(hit(r, "GET", "/api/v1/users/7")).toBe("user");
      expect(hit(r, "GET", "/api/v1/users/7/x")).toBe("v1");
      expect(hit(r, "GET", "/api/v2")).toBe("api");
    });
    test("per segment: a static segment beats a param even when the param route is longer", () => {
      const r = build([
        ["/:a/:b/:c", ["GET"], [], "params"],
        ["/x/*", ["GET"], [], "x"],
      ]);
      expect(hit(r, "GET", "/x/y/z")).toBe("x");
      expect(hit(r, "GET", "/w/y/z")).toBe("params");
    });
  });

  describe(`${name}: backtracking`, () => {
    test("a failed static branch falls back to the param branch", () => {
      const r = build([
        ["/a/:x/c", ["GET"], [], "param"],
        ["/a/b/d", ["GET"], [], "static"],
      ]);
      expect(params(r, "GET", "/a/b/c")).toEqual({ x: "b" });
      expect(hit(r, "GET", "/a/b/d")).toBe("static");
      expect(hit(r, "GET", "/a/b/e")).toBeNull();
    });
    test("through several levels, to a wildcard at the top", () => {
      const r = build([
        ["/a/b/:x/e", ["GET"], [], "abxe"],
        ["/a/:y/c/d", ["GET"], [], "aycd"],
        ["/a/b/c/f", ["GET"], [], "abcf"],
        ["/a/*", ["GET"], [], "a*"],
      ]);
      expect(params(r, "GET", "/a/b/c/d")).toEqual({ y: "b" });
      expect(params(r, "GET", "/a/b/c/e")).toEqual({ x: "c" });
      expect(hit(r, "GET", "/a/b/c/f")).toBe("abcf");
      expect(params(r, "GET", "/a/b/c/g")).toEqual({ "*": "b/c/g" });
    });
    test("a param tried and failed leaves no capture behind", () => {
      const r = build([
        ["/a/:x/y", ["GET"], [], "axy"],
        ["/a/*", ["GET"], [], "a*"],
      ]);
      expect(params(r, "GET", "/a/q/z")).toEqual({ "*": "q/z" });
    });
    test("static prefixes that share characters", () => {
      const r = build([
        ["/user", ["GET"], [], "user"],
        ["/users", ["GET"], [], "users"],
        ["/users/:id", ["GET"], [], "users/:id"],
        ["/use", ["GET"], [], "use"],
        ["/:seg", ["GET"], [], ":seg"],
      ]);
      expect(hit(r, "GET", "/use")).toBe("use");
      expect(hit(r, "GET", "/user")).toBe("user");
      expect(hit(r, "GET", "/users")).toBe("users");
      expect(hit(r, "GET", "/users/1")).toBe("users/:id");
      expect(hit(r, "GET", "/usersx")).toBe(":seg");
      expect(hit(r, "GET", "/us")).toBe(":seg");
    });
  });

  describe(`${name}: long paths`, () => {
    test("thousands of segments end quickly, with or without a match", () => {
      const r = build([
        ["/:a/:b/:c/x", ["GET"], [], "abc"],
        ["/a/:b/*", ["GET"], [], "a*"],
        ["/a/b/:c/:d/y", ["GET"], [], "abcd"],
      ]);
      const deep = "/a" + "/b".repeat(5000);
      const t0 = performance.now();
      expect(hit(r, "GET", deep)).toBe("a*");
      expect(hit(r, "GET", "/z" + "/b".repeat(5000))).toBeNull();
      expect(hit(r, "GET", "/" + "x".repeat(100_000))).toBeNull();
      expect(performance.now() - t0).toBeLessThan(1000);
    });
  });

  describe(`${name}: methods`, () => {
    const r = build([
      ["/api/users", ["GET"], [], "users"],
      ["/api/*", ["POST"], [], "api*"],
      ["/any", [], [], "any"],
      ["/any", ["DELETE"], [], "any-delete"],
      ["/purge", ["PURGE"], [], "purge"],
    ]);
    test("the most specific route that accepts the method wins", () => {
      expect(hit(r, "GET", "/api/users")).toBe("users");
      expect(hit(r, "POST", "/api/users")).toBe("api*");
    });
    test("methods [] accept every method; naming the method beats it on the same path", () => {
      for (const m of ["GET", "POST", "PUT", "PATCH", "OPTIONS", "HEAD", "BREW"]) expect(hit(r, m, "/any")).toBe("any");
      expect(hit(r, "DELETE", "/any")).toBe("any-delete");
    });
    test("custom methods", () => {
      expect(hit(r, "PURGE", "/purge")).toBe("purge");
      expect(hit(r, "GET", "/purge")).toBe("405 PURGE");
    });
    test("405 only when the path matches and no route takes the method; Allow is the union, sorted", () => {
      expect(hit(r, "DELETE", "/api/users")).toBe("405 GET, HEAD, POST");
      expect(hit(r, "DELETE", "/api/other")).toBe("405 POST");
      expect(hit(r, "DELETE", "/nothing")).toBeNull();
    });
    test("405 allow lists a method once", () => {
      const r2 = build([
        ["/a/:x", ["GET", "PUT"], [], "ax"],
        ["/a/b", ["GET", "POST"], [], "ab"],
        ["/a/*", ["PUT"], [], "a*"],
      ]);
      expect(hit(r2, "DELETE", "/a/b")).toBe("405 GET, HEAD, POST, PUT");
      expect(hit(r2, "DELETE", "/a/c")).toBe("405 GET, HEAD, PUT");
      expect(hit(r2, "DELETE", "/a/b/c")).toBe("405 PUT");
      // And a match after mismatches still wins.
      expect(hit(r2, "PUT", "/a/b")).toBe("ax");
    });
  });

  describe(`${name}: HEAD`, () => {
    test("is served by the GET route", () => {
      const r = build([["/a", ["GET"], [], "get"]]);
      expect(hit(r, "HEAD", "/a")).toBe("get");
    });
    test("unless a route on that path names HEAD", () => {
      const r = build([
        ["/a", ["HEAD"], [], "head"],
        ["/a", ["GET"], [], "get"],
      ]);
      expect(hit(r, "HEAD", "/a")).toBe("head");
      expect(hit(r, "GET", "/a")).toBe("get");
    });
    test("the GET route beats a methods-[] route on the same path", () => {
      const r = build([
        ["/a", [], [], "any"],
        ["/a", ["GET"], [], "get"],
      ]);
      expect(hit(r, "HEAD", "/a")).toBe("get");
    });
    test("goes to the same route as GET, not a less specific route naming HEAD", () => {
      const r = build([
        ["/a/*", ["HEAD", "POST"], [], "a*"],
        ["/a/b", ["GET"], [], "ab"],
      ]);
      expect(hit(r, "HEAD", "/a/b")).toBe("ab");
      expect(hit(r, "HEAD", "/a/c")).toBe("a*");
    });
    test("Allow names HEAD where GET is, not otherwise", () => {
      const r = build([
        ["/a", ["GET"], [], "get"],
        ["/b", ["POST"], [], "post"],
      ]);
      expect(hit(r, "PUT", "/a")).toBe("405 GET, HEAD");
      expect(hit(r, "HEAD", "/b")).toBe("405 POST");
    });
  });

  describe(`${name}: hosts`, () => {
    const r = build([
      ["/x", ["GET"], ["api.example.com"], "exact"],
      ["/x", ["GET"], ["*.example.com"], "wild"],
      ["/x", ["GET"], [], "any"],
      ["/only-api", ["GET"], ["API.Example.com"], "only-api"],
      ["/y/*", ["GET"], ["api.example.com"], "api-y"],
      ["/y/z", ["GET", "POST"], [], "any-y"],
      ["/m", ["POST"], ["api.example.com", "other.test"], "m-post"],
      ["/m", ["GET"], [], "m-get"],
    ]);
    test("exact beats wildcard beats any host", () => {
      expect(hit(r, "GET", "/x", "api.example.com")).toBe("exact");
      expect(hit(r, "GET", "/x", "www.example.com")).toBe("wild");
      expect(hit(r, "GET", "/x", "example.org")).toBe("any");
    });
    test('"*." matches exactly one label', () => {
      expect(hit(r, "GET", "/x", "example.com")).toBe("any");
      expect(hit(r, "GET", "/x", "a.b.example.com")).toBe("any");
      expect(hit(r, "GET", "/x", ".example.com")).toBe("any");
    });
    test("hosts are case-insensitive", () => {
      expect(hit(r, "GET", "/only-api", "api.example.com")).toBe("only-api");
      expect(hit(r, "GET", "/only-api", "API.EXAMPLE.COM")).toBe("only-api");
      expect(hit(r, "GET", "/x", "WWW.Example.Com")).toBe("wild");
      expect(hit(r, "GET", "/only-api", "www.example.com")).toBeNull();
    });
    test("the host comes before the path: an exact host's wildcard beats an any-host static route", () => {
      expect(hit(r, "GET", "/y/z", "api.example.com")).toBe("api-y");
      expect(hit(r, "GET", "/y/z", "www.example.com")).toBe("any-y");
    });
    test("a method the host's routes lack falls through to less specific hosts", () => {
      expect(hit(r, "POST", "/y/z", "api.example.com")).toBe("any-y");
      expect(hit(r, "GET", "/m", "other.test")).toBe("m-get");
      expect(hit(r, "POST", "/m", "other.test")).toBe("m-post");
    });
    test("Allow unions the routes matching host and path across host levels", () => {
      expect(hit(r, "DELETE", "/m", "api.example.com")).toBe("405 GET, HEAD, POST");
      expect(hit(r, "DELETE", "/m", "elsewhere.test")).toBe("405 GET, HEAD");
      expect(hit(r, "DELETE", "/only-api", "api.example.com")).toBe("405 GET, HEAD");
      expect(hit(r, "DELETE", "/only-api", "elsewhere.test")).toBeNull();
    });
  });
}

function permutations(items: number[]): number[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((x, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [x, ...rest]));
}
