import { describe, expect, test } from "bun:test";
import { parseRoutePath, validateRouteHost, validateRouteMethod, validateRoutePath } from "../../src/router/pattern.ts";

describe("validateRoutePath", () => {
  const valid = [
    "/",
    "/a",
    "/a/",
    "/api/users/:id",
    "/api/users/:id/",
    "/api/users/*",
    "/*",
    "/:a/:b/*",
    "/v1/things:batchGet",
    "/caf%C3%A9",
    "/a-b_c.d~e!$&'()+,;=:@",
    "/x/:__proto__",
  ];
  for (const path of valid) test(`accepts ${path}`, () => expect(validateRoutePath(path)).toBeNull());

  const invalid: [string, string][] = [
    ["", "must not be empty"],
    ["a", 'must start with "/"'],
    ["*", 'must start with "/"'],
    ["//", "empty segment at index 1"],
    ["/a//", "empty segment at index 3"],
    ["/a/./b", 'dot segment "." at index 3'],
    ["/..", 'dot segment ".." at index 1'],
    ["/:", "empty param name at index 1"],
    ["/:a.b", 'invalid param name ":a.b" at index 1 (use A-Z a-z 0-9 _)'],
    ["/:é", 'invalid param name ":é" at index 1 (use A-Z a-z 0-9 _)'],
    ["/:a/:a", 'duplicate param name ":a"'],
    ["/*/a", '"*" must be the last segment'],
    ["/a/*/", '"*" must be the last segment'],
    ["/a/b*", '"*" must be a whole segment'],
    ["/**", '"*" must be a whole segment'],
    ["/a b", 'invalid character " " at index 2'],
    ["/a#b", 'invalid character "#" at index 2'],
    ["/a\tb", 'invalid character "\\t" at index 2'],
    ["/a\\b", 'invalid character "\\\\" at index 2'],
    ["/a?", 'invalid character "?" at index 2'],
    ["/ü", 'non-ASCII character "ü" at index 1 (percent-encode it)'],
    ["/%", "malformed percent-escape at index 1"],
    ["/%G0", "malformed percent-escape at index 1"],
    ["/a%4/b", "malformed percent-escape at index 2"],
  ];
  for (const [path, problem] of invalid) {
    test(`refuses ${JSON.stringify(path)}`, () => expect(validateRoutePath(path)).toBe(problem));
  }
  test("refuses a non-string without throwing", () => {
    expect(validateRoutePath(undefined as unknown as string)).toBe("must not be empty");
  });
  test("parseRoutePath throws the same problem with the pattern", () => {
    expect(() => parseRoutePath("/a//b")).toThrow('invalid route path "/a//b": empty segment at index 3');
  });
  test("parseRoutePath: names and shape", () => {
    const p = parseRoutePath("/orgs/:org/repos/:repo/*");
    expect(p.names).toEqual(["org", "repo", "*"]);
    expect(p.shape).toBe("/orgs/:/repos/:/*");
    expect(p.isStatic).toBe(false);
    expect(parseRoutePath("/a/").shape).toBe("/a/");
    expect(parseRoutePath("/a/").isStatic).toBe(true);
  });
});

describe("validateRouteHost", () => {
  for (const host of ["api.example.com", "API.Example.COM", "*.example.com", "*.localhost", "localhost", "127.0.0.1", "[::1]", "my_host-1.test"]) {
    test(`accepts ${host}`, () => expect(validateRouteHost(host)).toBeNull());
  }
  const invalid: [string, string][] = [
    ["", "must not be empty"],
    ["*", 'a bare "*" is not a host pattern; leave hosts empty to match any host'],
    ["a.*.com", '"*" is only allowed as the whole first label ("*.example.com")'],
    ["*example.com", '"*" is only allowed as the whole first label ("*.example.com")'],
    ["*.*.com", '"*" is only allowed as the whole first label ("*.example.com")'],
    ["example.com:443", "must not include a port"],
    ["a..b", "empty label"],
    [".a", "empty label"],
    ["a.", "empty label"],
    ["*.", "empty label"],
    ["a/b", 'invalid character "/"'],
    ["exämple.com", 'invalid character "ä"'],
    ["[::1]:80", "malformed IPv6 address (expected [addr], no port)"],
  ];
  for (const [host, problem] of invalid) test(`refuses ${JSON.stringify(host)}`, () => expect(validateRouteHost(host)).toBe(problem));
});

describe("validateRouteMethod", () => {
  for (const m of ["GET", "PURGE", "M-SEARCH", "X_Y"]) test(`accepts ${m}`, () => expect(validateRouteMethod(m)).toBeNull());
  const invalid: [string, string][] = [
    ["", "must not be empty"],
    ["get", 'method "get" must be upper-case'],
    ["G ET", 'invalid method "G ET"'],
    ["GET\n", 'invalid method "GET\\n"'],
  ];
  for (const [m, problem] of invalid) test(`refuses ${JSON.stringify(m)}`, () => expect(validateRouteMethod(m)).toBe(problem));
});
