/**
 * Config of request/response transformation, `match` and
 * `[[routes.aggregate]]`: what they normalize to, and every bad value
 * refused at load with its key path.
 */
import { describe, expect, test } from "bun:test";
import { parse, problemsOf, route, withUpstream } from "./helpers.ts";

const at = (path: string, keys: string, name = "r") => withUpstream(`
[[routes]]
name = "${name}"
path = "${path}"
upstream = "api"
${keys}
`);

describe("request and response", () => {
  test("normalize with defaults", () => {
    const r = parse(withUpstream(route('request = { path = "/v2/{*}", body = { remove = ["a"] } }\nresponse = { status = { 201 = 200 } }'))).routes[0]!;
    expect(r.request).toEqual({ headers: null, query: null, path: "/v2/{*}", body: { remove: ["a"], rename: undefined, set: undefined, add: undefined, max_size: 1048576, strict: false } });
    expect(r.response).toEqual({ headers: null, body: null, status: { 201: 200 }, etag: "weaken" });
    expect(parse(withUpstream(route())).routes[0]!.request).toBeNull();
  });

  test("bad templates, names, paths and values are refused with their key paths", () => {
    expect(
      problemsOf(
        at(
          "/users/:id",
          `request = { path = "/v2/{uid}", headers = { set = { "bad name" = "x", "x-a" = "{claim.}" , host = "evil" }, rename = { "x-b" = "content-length" } }, query = { add = { "" = "1" } }, body = { rename = { a = "b.c" }, remove = ["x..y"], max_size = "lots" } }
response = { headers = { remove = ["a b"] }, body = { allow = ["__proto__"] }, status = { "20x" = 200, 500 = 99 }, etag = "keep" }`,
        ),
      ),
    ).toEqual([
      'routes[0].request.body.max_size: invalid size "lots" (expected a number and a unit: B, KB, MB, GB)',
      'routes[0].response.etag: expected one of "weaken", "drop"',
      "routes[0].request.path: {uid}: the route path has no param :uid (it has :id)",
      'routes[0].request.body.remove[0]: empty field name in "x..y"',
      'routes[0].request.body.rename.a: expected a field name (the new name in the same object), found "b.c"',
      'routes[0].request.headers.set."bad name": invalid header name "bad name"',
      'routes[0].request.headers.set.x-a: {claim.}: a name must follow "claim."',
      "routes[0].request.headers.set.host: host is written by the gateway itself",
      "routes[0].request.headers.rename.x-b: content-length is written by the gateway itself",
      'routes[0].request.query.add."": expected a non-empty parameter name',
      'routes[0].response.body.allow[0]: the field name "__proto__" is not allowed',
      "routes[0].response.status.500: expected a status from 200 to 599",
      "routes[0].response.status.20x: expected an upstream status from 100 to 599 as the key",
      'routes[0].response.headers.remove[0]: invalid header name "a b"',
    ]);
  });

  test("a path template is a path only", () => {
    expect(problemsOf(at("/a", 'request = { path = "/b?x=1" }'))).toEqual(["routes[0].request.path: a path only: edit the query with request.query"]);
    expect(problemsOf(at("/a", 'request = { path = "b" }'))).toEqual(['routes[0].request.path: must start with "/"']);
  });

  test("literal text must already be valid where it goes: no CR/LF in headers, no space or raw byte in a path", () => {
    expect(
      problemsOf(
        at(
          "/a/:id",
          `request = { path = "/v2/a b/{id}", headers = { set = { "x-a" = "a\\r\\nx-admin: 1" }, add = { "x-b" = "{id}\\u0000" } }, query = { set = { q = "a b&c={id}" } } }
response = { headers = { set = { "x-c" = "line\\nbreak", "x-tab" = "a\\tb" } } }`,
        ),
      ),
    ).toEqual([
      "routes[0].request.path: a space is not allowed in a path here: percent-encode it",
      "routes[0].request.headers.set.x-a: a header value must not contain control characters (found CR)",
      "routes[0].request.headers.add.x-b: a header value must not contain control characters (found control character 0x00)",
      "routes[0].response.headers.set.x-c: a header value must not contain control characters (found LF)",
    ]);
    expect(problemsOf(at("/a", 'request = { path = "/caf\\u00e9" }'))).toEqual(['routes[0].request.path: "\u00e9" is not allowed in a path here: percent-encode it']);
    expect(problemsOf(at("/a", 'request = { path = "/100%" }'))).toEqual(['routes[0].request.path: "%" must start a %XX escape (write %25 for a literal "%")']);
    expect(parse(at("/a", 'request = { path = "/caf%C3%A9/x;v=1/@me:1" }')).routes[0]!.request!.path).toBe("/caf%C3%A9/x;v=1/@me:1");
  });

  test("unknown keys are errors", () => {
    expect(problemsOf(at("/a", 'request = { header = {} }\nresponse = { body = { keep = [] } }'))).toEqual([
      "routes[0].request.header: unknown key",
      "routes[0].response.body.keep: unknown key",
    ]);
  });
});

describe("match", () => {
  test("normalizes values, lists, present and absent", () => {
    const r = parse(at("/a", 'match = { headers = { "X-Api-Version" = "2", a = ["1", "2"], b = true, c = false }, query = { v = "3" } }')).routes[0]!;
    expect(r.match).toEqual({
      headers: [
        { kind: "values", name: "x-api-version", values: ["2"] },
        { kind: "values", name: "a", values: ["1", "2"] },
        { kind: "present", name: "b" },
        { kind: "absent", name: "c" },
      ],
      query: [{ kind: "values", name: "v", values: ["3"] }],
    });
  });

  test("bad conditions", () => {
    expect(problemsOf(at("/a", 'match = { headers = { "a b" = "1", c = 2, d = [] } }'))).toEqual([
      "routes[0].match.headers.c: expected a string, a list of strings, or true / false",
      'routes[0].match.headers."a b": invalid header name "a b"',
      "routes[0].match.headers.d: expected at least one value",
    ]);
    expect(problemsOf(at("/a", "match = {}"))).toEqual(["routes[0].match: expected at least one header or query condition"]);
  });

  test("routes differing only in match share a path; the same conditions twice still clash", () => {
    const ok = `${at("/a/:id", "")}\n[[routes]]\nname = "v2"\npath = "/a/:id"\nupstream = "api"\nmatch = { headers = { v = "2" } }`;
    expect(parse(ok).routes).toHaveLength(2);
    const twice = `${at("/a", 'match = { headers = { v = "2" } }')}\n[[routes]]\nname = "v2"\npath = "/a"\nupstream = "api"\nmatch = { headers = { V = "2" } }`;
    expect(problemsOf(twice)).toEqual(["routes[1].path: same path, methods and host (any host) as routes[0]; the router could serve only one"]);
    const spelled = `${at("/a/:id", "")}\n[[routes]]\nname = "v2"\npath = "/a/:uid"\nupstream = "api"\nmatch = { headers = { v = "2" } }`;
    expect(problemsOf(spelled)).toEqual(['routes[1].path: routes told apart by match must write the path the same way as routes[0] ("/a/:id")']);
  });
});

describe("[[routes.aggregate]]", () => {
  const agg = (calls: string, routeKeys = "") => withUpstream(`
[[routes]]
name = "d"
path = "/d/:user"
${routeKeys}
${calls}`);

  test("normalizes calls: names, defaults, dependencies", () => {
    const r = parse(
      agg(`
[[routes.aggregate]]
upstream = "api"
path = "/users/{user}"
as = "user"
[[routes.aggregate]]
name = "orders"
path = "/orders?u={user.id}"
merge = true
optional = true
timeout = "250ms"
headers = { "X-Tenant" = "{header.x-tenant}" }
forward_headers = ["Authorization"]
`, 'upstream = "api"'),
    ).routes[0]!;
    expect(r.upstream).toBe("api");
    expect(r.aggregate).toEqual([
      { name: "user", upstream: "api", path: "/users/{user}", method: "GET", headers: {}, forward_headers: [], as: "user", merge: false, optional: false, timeout: 0, response: null, depends: [] },
      { name: "orders", upstream: "api", path: "/orders?u={user.id}", method: "GET", headers: { "x-tenant": "{header.x-tenant}" }, forward_headers: ["authorization"], as: null, merge: true, optional: true, timeout: 250, response: null, depends: ["user"] },
    ]);
  });

  test("an aggregate route needs no upstream of its own; a proxy route does", () => {
    expect(parse(agg('[[routes.aggregate]]\nupstream = "api"\npath = "/x"\nas = "x"')).routes[0]!.upstream).toBe("");
    expect(problemsOf(withUpstream('[[routes]]\nname = "p"\npath = "/p"'))).toEqual(["routes[0].upstream: required key missing"]);
  });

  test("every bad call is refused with its key path", () => {
    expect(
      problemsOf(
        agg(`
[[routes.aggregate]]
path = "/users/{uid}"
as = "user"
method = "G T"
[[routes.aggregate]]
upstream = "nope"
path = "/o/{ghost.id}"
as = "user"
[[routes.aggregate]]
upstream = "api"
path = "/x"
[[routes.aggregate]]
upstream = "api"
path = "/x"
as = "y"
merge = true
timeout = "0s"
[[routes.aggregate]]
upstream = "api"
path = "x"
as = "header"
headers = { "a b" = "{nope}" }
response = { allow = ["a..b"] }
`, 'request = { path = "/z" }'),
      ),
    ).toEqual([
      "routes[0].request: does not apply to an aggregate route (each [[routes.aggregate]] call has its own path and headers)",
      'routes[0].aggregate[1].as: duplicate call name "user" (also aggregate[0])',
      'routes[0].aggregate[4].as: "header" is reserved for templates',
      "routes[0].aggregate[0].upstream: required key missing (the route has no upstream either)",
      'routes[0].aggregate[0].method: invalid method "G T"',
      "routes[0].aggregate[0].path: {uid}: the route path has no param :uid (it has :user)",
      'routes[0].aggregate[1].upstream: no upstream named "nope"',
      'routes[0].aggregate[1].path: {ghost.id}: no aggregate call named "ghost"',
      "routes[0].aggregate[2].as: required key missing (or merge = true)",
      "routes[0].aggregate[3].merge: a call either lands under `as` or is merged, not both",
      "routes[0].aggregate[3].timeout: must be greater than 0",
      'routes[0].aggregate[4].path: must start with "/"',
      'routes[0].aggregate[4].headers."a b": invalid header name "a b"',
      "routes[0].aggregate[4].headers.\"a b\": {nope}: the route path has no param :nope (it has :user)",
      'routes[0].aggregate[4].response.allow[0]: empty field name in "a..b"',
    ]);
    expect(
      problemsOf(
        agg(`
[[routes.aggregate]]
upstream = "api"
path = "/a b/{user}"
as = "a"
[[routes.aggregate]]
upstream = "api"
path = "/b?q=x y&u={user}"
as = "b"
headers = { "x-a" = "v\\r\\nx-admin: 1" }
[[routes.aggregate]]
upstream = "api"
path = "/c?next=/d?e=1&f=%2F"
as = "c"
`),
      ),
    ).toEqual([
      "routes[0].aggregate[0].path: a space is not allowed in a path here: percent-encode it",
      "routes[0].aggregate[1].path: a space is not allowed in a query here: percent-encode it",
      "routes[0].aggregate[1].headers.x-a: a header value must not contain control characters (found CR)",
    ]);
  });

  test("dependency cycles and self-references", () => {
    expect(
      problemsOf(
        agg(`
[[routes.aggregate]]
upstream = "api"
path = "/a/{b.id}"
as = "a"
[[routes.aggregate]]
upstream = "api"
path = "/b/{a.id}"
as = "b"
[[routes.aggregate]]
upstream = "api"
path = "/c/{c.id}"
as = "c"
`),
      ),
    ).toEqual([
      'routes[0].aggregate[2].path: the call "c" cannot depend on itself',
      "routes[0].aggregate: the calls depend on each other in a cycle: a -> b -> a",
    ]);
  });

  test("an empty list and unknown keys", () => {
    expect(problemsOf(withUpstream('[[routes]]\nname = "d"\npath = "/d"\naggregate = []'))).toEqual([
      "routes[0].aggregate: expected a non-empty list of [[routes.aggregate]] tables",
      "routes[0].upstream: required key missing",
    ]);
    expect(problemsOf(agg('[[routes.aggregate]]\nupstream = "api"\npath = "/x"\nas = "x"\nbody = "{}"'))).toEqual(["routes[0].aggregate[0].body: unknown key"]);
  });
});
