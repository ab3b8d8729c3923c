import { describe, expect, test } from "bun:test";
import { appendVary, CORS_DEFAULTS, CorsRule, mergeCors } from "../../src/edge/cors.ts";

const rule = (over: Partial<typeof CORS_DEFAULTS>, routeMethods: string[] = []) => new CorsRule({ ...CORS_DEFAULTS, ...over }, routeMethods);

describe("CorsRule", () => {
  test("origins compare exactly; \"null\" only when listed", () => {
    const r = rule({ origins: ["https://a.example"] });
    expect(r.allows("https://a.example")).toBe(true);
    expect(r.allows("https://A.example")).toBe(false);
    expect(r.allows("https://a.example:443")).toBe(false);
    expect(rule({ origins: ["*"] }).allows("null")).toBe(false);
    expect(rule({ origins: ["null"] }).allows("null")).toBe(true);
  });

  test("preflight: safelisted methods pass, others must be listed; methods default to the route's", () => {
    const r = rule({ origins: ["https://a.example"] }, ["GET", "DELETE"]);
    expect(r.preflight("https://a.example", "DELETE", null)?.get("access-control-allow-methods")).toBe("GET, DELETE");
    expect(r.preflight("https://a.example", "POST", null)).not.toBeNull();
    expect(r.preflight("https://a.example", "PATCH", null)).toBeNull();
    expect(r.preflight("https://a.example", "delete", null)).toBeNull(); // methods are case-sensitive once normalized
    const anyMethod = rule({ origins: ["https://a.example"] });
    expect(anyMethod.preflight("https://a.example", "PATCH", null)?.get("access-control-allow-methods")).toBe("PATCH");
  });

  test("preflight headers: listed names case-insensitively, empty entries ignored; * not with credentials", () => {
    const r = rule({ origins: ["https://a.example"], headers: ["x-a"] });
    expect(r.preflight("https://a.example", "GET", "X-A, ,x-a")?.get("access-control-allow-headers")).toBe("x-a, x-a");
    expect(r.preflight("https://a.example", "GET", "x-a, x-b")).toBeNull();
    expect(r.preflight("https://a.example", "GET", "")?.has("access-control-allow-headers")).toBe(false);
    const wildCreds = rule({ origins: ["https://a.example"], headers: ["*"], credentials: true });
    expect(wildCreds.preflight("https://a.example", "GET", "x-b")).toBeNull();
    expect(wildCreds.preflight("https://a.example", "GET", "*")).not.toBeNull();
  });

  test("decorate: Vary always, fields only for an allowed origin, * only without credentials", () => {
    const h = new Headers({ vary: "Accept-Encoding" });
    rule({ origins: ["*"] }).decorate("https://x.example", h);
    expect(h.get("vary")).toBe("Accept-Encoding, Origin");
    expect(h.get("access-control-allow-origin")).toBe("*");
    const h2 = new Headers();
    rule({ origins: ["https://a.example"], credentials: true }).decorate("https://b.example", h2);
    expect(h2.get("vary")).toBe("Origin");
    expect(h2.has("access-control-allow-origin")).toBe(false);
  });

  test("appendVary keeps what is there and never duplicates; * covers everything", () => {
    const h = new Headers({ vary: "origin" });
    appendVary(h, "Origin");
    expect(h.get("vary")).toBe("origin");
    const star = new Headers({ vary: "*" });
    appendVary(star, "Origin");
    expect(star.get("vary")).toBe("*");
  });

  test("mergeCors: defaults, then [cors], then the route; false and nothing turn it off", () => {
    expect(mergeCors(null, null)).toBeNull();
    expect(mergeCors({ origins: ["https://a.example"] }, false)).toBeNull();
    expect(mergeCors({ origins: ["https://a.example"], max_age: 60 }, { credentials: true })).toEqual({ ...CORS_DEFAULTS, origins: ["https://a.example"], max_age: 60, credentials: true });
  });
});
