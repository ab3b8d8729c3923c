import { describe, expect, test } from "bun:test";
import { compileTemplate, literalProblem, MissingValue, render, headerSafe, encodeSegment, type Template, type TemplateSource } from "../../src/transform/index.ts";

function source(over: Partial<{ params: Record<string, string>; claims: Record<string, unknown>; headers: Record<string, string>; query: Record<string, string>; consumer: string | null; refs: Record<string, unknown> }> = {}): TemplateSource {
  return {
    param: (n) => over.params?.[n],
    claim: (n) => over.claims?.[n],
    header: (n) => over.headers?.[n] ?? null,
    query: (n) => over.query?.[n] ?? null,
    consumer: over.consumer ?? null,
    clientIp: "10.0.0.7",
    requestId: "rid-1",
    ref: (call, path) => {
      let v: unknown = over.refs?.[call];
      for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
      return v;
    },
  };
}

function compiled(text: string, enc: "path" | "query" | "header" | "text", params: string[] = ["id", "*"], calls?: string[]): Template {
  const t = compileTemplate(text, enc, { params, calls: calls ? new Set(calls) : undefined });
  if (typeof t === "string") throw new Error(t);
  return t;
}

describe("compile", () => {
  test("every variable kind", () => {
    const t = compiled("/{id}/{claim.sub}/{header.X-Tenant}/{query.page}/{consumer}/{client_ip}/{request_id}", "path");
    expect(t.vars.map((v) => v.source)).toEqual(["{id}", "{claim.sub}", "{header.X-Tenant}", "{query.page}", "{consumer}", "{client_ip}", "{request_id}"]);
    expect(t.vars[2]!.name).toBe("x-tenant");
  });

  test("bad templates say what is wrong", () => {
    const bad = (text: string, params: string[] = ["id"], calls?: string[]) =>
      compileTemplate(text, "path", { params, calls: calls ? new Set(calls) : undefined });
    expect(bad("/{idd}")).toBe("{idd}: the route path has no param :idd (it has :id)");
    expect(bad("/{id")).toBe('unclosed "{" at offset 1');
    expect(bad("/a}")).toBe('unmatched "}" at offset 2 (write "}}" for a literal brace)');
    expect(bad("/{claim.}")).toBe('{claim.}: a name must follow "claim."');
    expect(bad("/{header.a b}")).toBe("{header.a b}: invalid header name");
    expect(bad("/{user.id}")).toBe("{user.id} is not a template variable (claim., header., query. or a route param)");
    expect(bad("/{user.id}", [], ["orders"])).toBe('{user.id}: no aggregate call named "user"');
    expect(bad("/{*}")).toBe('{*}: the route path has no "*" wildcard');
    expect(bad("/{a-b}")).toBe("{a-b} is not a template variable");
  });

  test("{{ and }} are literal braces", () => {
    expect(render(compiled("{{x}}", "text", []), source())).toBe("{x}");
  });
});

describe("render and encode", () => {
  test("a missing value is empty; a required one throws MissingValue", () => {
    expect(render(compiled("/u/{claim.sub}", "path"), source())).toBe("/u/");
    expect(() => render(compiled("/u/{claim.sub!}", "path"), source())).toThrow(MissingValue);
    expect(() => render(compiled("/u/{claim.sub!}", "path"), source())).toThrow("missing required value {claim.sub!}");
  });

  test("path values never add a segment or a dot-segment", () => {
    const t = compiled("/v2/users/{id}", "path");
    expect(render(t, source({ params: { id: "a/b" } }))).toBe("/v2/users/a%2Fb");
    expect(render(t, source({ params: { id: ".." } }))).toBe("/v2/users/%2E%2E");
    expect(render(t, source({ params: { id: "." } }))).toBe("/v2/users/%2E");
    expect(render(t, source({ params: { id: "x?y#z%" } }))).toBe("/v2/users/x%3Fy%23z%25");
    expect(render(t, source({ params: { id: "é" } }))).toBe("/v2/users/%C3%A9");
    expect(render(t, source({ params: { id: "a\r\nb" } }))).toBe("/v2/users/a%0D%0Ab");
  });

  test("{*} keeps its slashes, encodes each segment", () => {
    const t = compiled("/files/{*}", "path");
    expect(render(t, source({ params: { "*": "a/b c/../d" } }))).toBe("/files/a/b%20c/%2E%2E/d");
  });

  test("query values are components", () => {
    const t = compiled("?user={query.u}", "query");
    expect(render(t, source({ query: { u: "a&admin=1#x" } }))).toBe("?user=a%26admin%3D1%23x");
  });

  test("header values lose CR, LF, NUL and controls: no injected field, ever", () => {
    const t = compiled("{claim.tenant}", "header");
    expect(render(t, source({ claims: { tenant: "acme\r\nX-Admin: 1" } }))).toBe("acmeX-Admin: 1");
    expect(render(compiled("{header.x-a}", "header"), source({ headers: { "x-a": "v\u0000\n\rw\u007f" } }))).toBe("vw");
    expect(headerSafe("  a\tb  ")).toBe("a\tb");
    // %0d%0a decoded from a query value still cannot split the head.
    expect(render(compiled("{query.q}", "header"), source({ query: { q: "x\r\ny" } }))).toBe("xy");
  });

  test("claims print as text: numbers, booleans, lists joined, objects as JSON", () => {
    const t = compiled("{claim.n}|{claim.b}|{claim.l}|{claim.o}", "text");
    expect(render(t, source({ claims: { n: 42, b: true, l: ["a", "b"], o: { k: 1 } } }))).toBe('42|true|a,b|{"k":1}');
  });

  test("consumer, client ip, request id, call references", () => {
    expect(render(compiled("{consumer}/{client_ip}/{request_id}", "text", []), source({ consumer: "mobile" }))).toBe("mobile/10.0.0.7/rid-1");
    const t = compiled("/orders/{user.profile.id}", "path", [], ["user"]);
    expect(render(t, source({ refs: { user: { profile: { id: 7 } } } }))).toBe("/orders/7");
  });

  test("encodeSegment keeps unreserved characters", () => {
    expect(encodeSegment("Az09-_.~")).toBe("Az09-_.~");
  });
});

describe("literal text of a template", () => {
  test("a path literal is pchar, / and %XX; values are not its concern", () => {
    expect(literalProblem(compiled("/v2/users/{id}/x;v=1/@me:a,b", "path"), "path")).toBeNull();
    expect(literalProblem(compiled("/caf%C3%A9", "path"), "path")).toBeNull();
    expect(literalProblem(compiled("/a b", "path"), "path")).toBe("a space is not allowed in a path here: percent-encode it");
    expect(literalProblem(compiled("/a\r\nb", "path"), "path")).toBe("CR is not allowed in a path here: percent-encode it");
    expect(literalProblem(compiled("/a?b", "path"), "path")).toBe('"?" is not allowed in a path here: percent-encode it');
    expect(literalProblem(compiled("/a#b", "path"), "path")).toBe('"#" is not allowed in a path here: percent-encode it');
    expect(literalProblem(compiled("/é", "path"), "path")).toBe('"é" is not allowed in a path here: percent-encode it');
    expect(literalProblem(compiled("/50%", "path"), "path")).toBe('"%" must start a %XX escape (write %25 for a literal "%")');
    expect(literalProblem(compiled("/%zz", "path"), "path")).toBe('"%" must start a %XX escape (write %25 for a literal "%")');
    expect(literalProblem(compiled("/{{x}}", "path"), "path")).toBe('"{" is not allowed in a path here: percent-encode it');
  });

  test("a query literal may also carry ?; a header literal anything but controls", () => {
    expect(literalProblem(compiled("?next=/a?b&id={id}", "query"), "query")).toBeNull();
    expect(literalProblem(compiled("?q=a b", "query"), "query")).toBe("a space is not allowed in a query here: percent-encode it");
    expect(literalProblem(compiled("Bearer {id}, a\tb é", "header"), "header")).toBeNull();
    expect(literalProblem(compiled("a\nb", "header"), "header")).toBe("a header value must not contain control characters (found LF)");
    expect(literalProblem(compiled("a\u0000", "header"), "header")).toBe("a header value must not contain control characters (found control character 0x00)");
    expect(literalProblem(compiled("a\u007f", "header"), "header")).toBe("a header value must not contain control characters (found control character 0x7f)");
  });
});
