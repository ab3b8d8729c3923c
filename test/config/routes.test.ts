import { describe, expect, test } from "bun:test";
import { parse, problemsOf, route, withUpstream } from "./helpers.ts";

const JWT = '[jwt]\nsecret = "ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"\nalgorithms = ["HS256"]\n';
const KEYS = '[[consumers]]\nname = "c"\napi_keys = ["k"]\n';

function routeAt(path: string, keys = ""): string {
  return withUpstream(`[[routes]]\nname = "r"\npath = "${path}"\nupstream = "api"\n${keys}`);
}

describe("path syntax (the router's rules)", () => {
  test.each(["/", "/api", "/api/", "/api/users/:id", "/a/:x/b/:y", "/static/*", "/*", "/v1/things:batchGet", "/a%20b"])(
    "%p is accepted",
    (path) => {
      expect(parse(routeAt(path)).routes[0]!.path).toBe(path);
    },
  );

  test.each([
    ["", 'invalid route path "": must not be empty'],
    ["api", 'invalid route path "api": must start with "/"'],
    ["/api/:id/:id", 'invalid route path "/api/:id/:id": duplicate param name ":id"'],
    ["/api/:/x", 'invalid route path "/api/:/x": empty param name at index 5'],
    ["/api/:user-id", 'invalid route path "/api/:user-id": invalid param name ":user-id" at index 5 (use A-Z a-z 0-9 _)'],
    ["/api/*/users", 'invalid route path "/api/*/users": "*" must be the last segment'],
    ["/api/users*", 'invalid route path "/api/users*": "*" must be a whole segment'],
    ["/api//users", 'invalid route path "/api//users": empty segment at index 5'],
    ["/api?x=1", 'invalid route path "/api?x=1": invalid character "?" at index 4'],
  ])("%p is refused", (path, message) => {
    expect(problemsOf(routeAt(path))).toEqual([`routes[0].path: ${message}`]);
  });
});

describe("upstream reference and names", () => {
  test("the upstream must exist", () => {
    expect(problemsOf(withUpstream(`[[routes]]\nname = "users"\npath = "/"\nupstream = "userz"`))).toEqual([
      'routes[0].upstream: no upstream named "userz"',
    ]);
  });

  test("route names are unique", () => {
    expect(
      problemsOf(withUpstream(route("", "a") + route('methods = ["POST"]', "a").replace('"/r/*"', '"/s"'))),
    ).toEqual(['routes[1].name: duplicate route name "a" (also routes[0])']);
  });
});

describe("methods and hosts", () => {
  test("methods are upper-cased tokens without duplicates", () => {
    expect(parse(routeAt("/", 'methods = ["get", "Post", "PURGE"]')).routes[0]!.methods).toEqual(["GET", "POST", "PURGE"]);
    expect(problemsOf(routeAt("/", 'methods = ["GET", "get", "BAD METHOD", ""]'))).toEqual([
      'routes[0].methods[1]: duplicate method "GET"',
      'routes[0].methods[2]: invalid method "BAD METHOD"',
      "routes[0].methods[3]: must not be empty",
    ]);
  });

  test("hosts are lower-cased and checked", () => {
    expect(parse(routeAt("/", 'hosts = ["API.Example.com", "*.example.org", "10.0.0.1", "[::1]"]')).routes[0]!.hosts).toEqual([
      "api.example.com",
      "*.example.org",
      "10.0.0.1",
      "[::1]",
    ]);
    expect(problemsOf(routeAt("/", 'hosts = ["a.com", "A.COM", "*", "a.com:8080", "a..b", "*.*.b", "x y"]'))).toEqual([
      'routes[0].hosts[1]: duplicate host "A.COM"',
      'routes[0].hosts[2]: invalid host "*": a bare "*" is not a host pattern; leave hosts empty to match any host',
      'routes[0].hosts[3]: invalid host "a.com:8080": must not include a port',
      'routes[0].hosts[4]: invalid host "a..b": empty label',
      'routes[0].hosts[5]: invalid host "*.*.b": "*" is only allowed as the whole first label ("*.example.com")',
      'routes[0].hosts[6]: invalid host "x y": invalid character " "',
    ]);
  });

  test("two routes with the same host, path shape and methods conflict", () => {
    const two = (a: string, b: string) =>
      withUpstream(`[[routes]]\nname = "a"\nupstream = "api"\n${a}\n[[routes]]\nname = "b"\nupstream = "api"\n${b}`);
    expect(problemsOf(two('path = "/u/:id"', 'path = "/u/:name"'))).toEqual([
      "routes[1].path: same path, methods and host (any host) as routes[0]; the router could serve only one",
    ]);
    expect(problemsOf(two('path = "/u"\nmethods = ["GET", "PUT"]', 'path = "/u"\nmethods = ["PUT"]'))).toEqual([
      "routes[1].path: same path, methods and host (any host) as routes[0]; the router could serve only one",
    ]);
    expect(problemsOf(two('path = "/u"\nhosts = ["a.com", "b.com"]', 'path = "/u"\nhosts = ["B.com"]'))).toEqual([
      "routes[1].path: same path, methods and host (host b.com) as routes[0]; the router could serve only one",
    ]);
    // No conflict: different methods, a method-specific route over an any-method one, different hosts, host vs any.
    expect(parse(two('path = "/u"\nmethods = ["GET"]', 'path = "/u"\nmethods = ["POST"]')).routes).toHaveLength(2);
    expect(parse(two('path = "/u"', 'path = "/u"\nmethods = ["POST"]')).routes).toHaveLength(2);
    expect(parse(two('path = "/u"\nhosts = ["a.com"]', 'path = "/u"\nhosts = ["b.com"]')).routes).toHaveLength(2);
    expect(parse(two('path = "/u"\nhosts = ["a.com"]', 'path = "/u"')).routes).toHaveLength(2);
    expect(parse(two('path = "/u"', 'path = "/u/"')).routes).toHaveLength(2);
  });
});

describe("strip_prefix", () => {
  test.each([
    ["/api/users/*", "/api", "/api"],
    ["/api/users/*", "/api/", "/api"],
    ["/api/users/*", "/api/users", "/api/users"],
    ["/api/users/:id", "/api/users/", "/api/users"],
    ["/api", "/api", "/api"],
    ["/api/*", "/", null],
  ])("path %p, strip_prefix %p → %p", (path, prefix, normalized) => {
    expect(parse(routeAt(path, `strip_prefix = "${prefix}"`)).routes[0]!.strip_prefix).toBe(normalized);
  });

  test.each([
    ["/api/users/*", "/ap", '"/ap" is not a leading part of the route path\'s static part "/api/users"'],
    ["/api/users/*", "/api/users/x", '"/api/users/x" is not a leading part of the route path\'s static part "/api/users"'],
    ["/api/:id/x", "/api/1", '"/api/1" is not a leading part of the route path\'s static part "/api"'],
    ["/:tenant/x", "/t", '"/t" is not a leading part of the route path\'s static part "/"'],
    ["/api/*", "api", 'must start with "/"'],
  ])("path %p, strip_prefix %p is refused", (path, prefix, message) => {
    expect(problemsOf(routeAt(path, `strip_prefix = "${prefix}"`))).toEqual([`routes[0].strip_prefix: ${message}`]);
  });

  test("is not checked against an invalid path (the path is reported instead)", () => {
    expect(problemsOf(routeAt("api", 'strip_prefix = "/x"'))).toEqual(['routes[0].path: invalid route path "api": must start with "/"']);
  });
});

describe("auth requirements", () => {
  test('"jwt" needs [jwt]', () => {
    expect(problemsOf(withUpstream(route('auth = "jwt"')))).toEqual(['routes[0].auth: "jwt" needs a [jwt] section']);
    expect(parse(withUpstream(JWT + route('auth = "jwt"'))).routes[0]!.auth).toBe("jwt");
  });

  test('"api_key" needs a consumer with api_keys', () => {
    expect(problemsOf(withUpstream(route('auth = "api_key"') + '[[consumers]]\nname = "c"'))).toEqual([
      'routes[0].auth: "api_key" needs at least one [[consumers]] entry with api_keys',
    ]);
    expect(parse(withUpstream(KEYS + route('auth = "api_key"'))).routes[0]!.auth).toBe("api_key");
  });

  test('"any" needs [jwt] or API keys', () => {
    expect(problemsOf(withUpstream(route('auth = "any"')))).toEqual([
      'routes[0].auth: "any" needs a [jwt] section or a [[consumers]] entry with api_keys',
    ]);
    expect(parse(withUpstream(JWT + route('auth = "any"'))).routes[0]!.auth).toBe("any");
    expect(parse(withUpstream(KEYS + route('auth = "any"'))).routes[0]!.auth).toBe("any");
  });

  test("roles, scopes and method_roles need an authenticated route", () => {
    expect(problemsOf(withUpstream(route('roles = ["a"]\nscopes = ["b"]\nmethod_roles = { GET = ["c"] }')))).toEqual([
      'routes[0].roles: needs auth = "jwt", "api_key" or "any" (auth is "none")',
      'routes[0].scopes: needs auth = "jwt", "api_key" or "any" (auth is "none")',
      'routes[0].method_roles: needs auth = "jwt", "api_key" or "any" (auth is "none")',
    ]);
  });

  test("scopes come from JWTs only", () => {
    expect(problemsOf(withUpstream(KEYS + route('auth = "api_key"\nscopes = ["read"]')))).toEqual([
      'routes[0].scopes: scopes come from JWTs; needs auth = "jwt" or "any" (auth is "api_key")',
    ]);
  });

  test("method_roles keys are upper-cased methods of the route", () => {
    const r = parse(withUpstream(JWT + route('auth = "jwt"\nmethods = ["GET", "DELETE"]\nmethod_roles = { delete = ["admin"] }')))
      .routes[0]!;
    expect(r.method_roles).toEqual({ DELETE: ["admin"] });
    expect(
      problemsOf(withUpstream(JWT + route('auth = "jwt"\nmethods = ["GET"]\nmethod_roles = { POST = ["a"], "BAD M" = ["b"], get = ["c"], GET = ["d"] }'))),
    ).toEqual([
      "routes[0].method_roles.POST: method POST is not in the route's methods",
      'routes[0].method_roles."BAD M": invalid method "BAD M"',
      'routes[0].method_roles.GET: duplicate method "GET"',
    ]);
  });
});

test("timeout is a duration, 0 by default", () => {
  expect(parse(withUpstream(route('timeout = "1500ms"'))).routes[0]!.timeout).toBe(1500);
});
