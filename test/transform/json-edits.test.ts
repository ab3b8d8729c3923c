import { describe, expect, test } from "bun:test";
import { applyJsonEdits, compileJsonEdits, getPath, parseJsonPath, type EditProblem, type RawJsonEdits } from "../../src/transform/index.ts";

function edit(doc: unknown, raw: RawJsonEdits, src: Parameters<typeof applyJsonEdits>[2] = null): unknown {
  const problems: EditProblem[] = [];
  const edits = compileJsonEdits(raw, { params: ["id"] }, problems);
  expect(problems).toEqual([]);
  return applyJsonEdits(structuredClone(doc), edits, src);
}

describe("dotted paths", () => {
  test("parse names, [*] and [N]", () => {
    expect(parseJsonPath("customer.id")).toEqual([{ key: "customer" }, { key: "id" }]);
    expect(parseJsonPath("items[*].sku")).toEqual([{ key: "items" }, { each: true }, { key: "sku" }]);
    expect(parseJsonPath("a[0][1]")).toEqual([{ key: "a" }, { index: 0 }, { index: 1 }]);
    expect(parseJsonPath("[*].id")).toEqual([{ each: true }, { key: "id" }]);
  });

  test("bad paths say why", () => {
    expect(parseJsonPath("")).toContain("expected a field path");
    expect(parseJsonPath("a..b")).toBe('empty field name in "a..b"');
    expect(parseJsonPath("a.")).toBe('empty field name in "a."');
    expect(parseJsonPath("a[x]")).toBe('expected [*] or [N] in "a[x]", found [x]');
    expect(parseJsonPath("a[0")).toBe('unclosed "[" in "a[0"');
    expect(parseJsonPath("a]")).toBe('unmatched "]" in "a]"');
    expect(parseJsonPath("a[0]b")).toBe('expected "." or "[" after "]" in "a[0]b"');
    expect(parseJsonPath("x.__proto__")).toBe('the field name "__proto__" is not allowed');
    expect(parseJsonPath("constructor")).toBe('the field name "constructor" is not allowed');
  });

  test("getPath", () => {
    expect(getPath({ a: { b: [1, { c: 2 }] } }, parseJsonPath("a.b[1].c") as never)).toBe(2);
    expect(getPath({ a: 1 }, parseJsonPath("a.b") as never)).toBeUndefined();
  });
});

describe("edits", () => {
  const order = { userId: 7, internal: "x", customer: { id: 1, secret: "s" }, items: [{ sku: "a", cost: 1 }, { sku: "b", cost: 2 }] };

  test("rename, remove, set, add on nested paths and lists", () => {
    expect(
      edit(order, {
        rename: { userId: "id", "items[*].sku": "code" },
        remove: ["internal", "customer.secret", "items[*].cost"],
        set: { "customer.tier": "gold", "meta.version": 2 },
        add: { "customer.id": 99, "customer.since": 2020 },
      }),
    ).toEqual({ id: 7, customer: { id: 1, tier: "gold", since: 2020 }, items: [{ code: "a" }, { code: "b" }], meta: { version: 2 } });
  });

  test("order is allow → remove → rename → set → add", () => {
    // remove runs before rename: removing the new name does not remove the renamed field.
    expect(edit({ a: 1 }, { remove: ["b"], rename: { a: "b" } })).toEqual({ b: 1 });
    // set runs before add: add never overrides set.
    expect(edit({}, { set: { x: 1 }, add: { x: 2 } })).toEqual({ x: 1 });
    // allow names upstream fields: a renamed field must be allowed under its old name.
    expect(edit({ userId: 1, pw: "x" }, { allow: ["userId"], rename: { userId: "id" } })).toEqual({ id: 1 });
  });

  test("allow keeps only the listed fields, nested and in lists", () => {
    expect(edit(order, { allow: ["userId", "customer.id", "items[*].sku"] })).toEqual({
      userId: 7,
      customer: { id: 1 },
      items: [{ sku: "a" }, { sku: "b" }],
    });
    expect(edit(order, { allow: ["customer"] })).toEqual({ customer: { id: 1, secret: "s" } });
  });

  test("a list of objects at the root is edited object by object", () => {
    expect(edit([{ userId: 1, x: 0 }, { userId: 2, x: 0 }], { rename: { userId: "id" }, remove: ["x"] })).toEqual([{ id: 1 }, { id: 2 }]);
    expect(edit([{ a: 1, b: 2 }, "s"], { allow: ["a"] })).toEqual([{ a: 1 }, "s"]);
  });

  test("removing list elements by index", () => {
    expect(edit({ l: [1, 2, 3] }, { remove: ["l[0]", "l[2]"] })).toEqual({ l: [2] });
  });

  test("set values may be templates; copies are independent", () => {
    const src = {
      param: () => "5", claim: (n: string) => (n === "sub" ? "u-1" : undefined), header: () => null, query: () => null,
      consumer: null, clientIp: "1.2.3.4", requestId: "r",
    };
    expect(edit({}, { set: { owner: "{claim.sub}", id: "{id}", lit: "{{raw}}" } }, src)).toEqual({ owner: "u-1", id: "5", lit: "{raw}" });
    const out = edit({ l: [{}, {}] }, { set: { "l[*].tags": ["a"] } }) as { l: { tags: string[] }[] };
    out.l[0]!.tags.push("b");
    expect(out.l[1]!.tags).toEqual(["a"]);
  });

  test("scalars and absent paths are left alone", () => {
    expect(edit(5, { remove: ["a"], set: { b: 1 } })).toBe(5);
    expect(edit({ a: 1 }, { rename: { "x.y": "z" }, remove: ["q.r"] })).toEqual({ a: 1 });
  });

  test("compile problems name their keys", () => {
    const problems: EditProblem[] = [];
    compileJsonEdits({ rename: { a: "b.c", "x[*]": "y" }, remove: ["a..b"], set: { "__proto__.x": 1, v: "{nope}" } }, { params: [] }, problems);
    expect(problems).toEqual([
      { path: ["remove", 0], message: 'empty field name in "a..b"' },
      { path: ["rename", "a"], message: 'expected a field name (the new name in the same object), found "b.c"' },
      { path: ["rename", "x[*]"], message: "only a named field can be renamed" },
      { path: ["set", "__proto__.x"], message: 'the field name "__proto__" is not allowed' },
      { path: ["set", "v"], message: "{nope}: the route path has no param :nope" },
    ]);
  });
});
