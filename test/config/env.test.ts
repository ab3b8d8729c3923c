import { describe, expect, test } from "bun:test";
import { interpolateString, interpolateTree } from "../../src/config/env.ts";
import { Problems } from "../../src/config/problems.ts";
import { parse, problemsOf, route, withUpstream } from "./helpers.ts";

const env = { HOST: "db.internal", PORT: "5432", EMPTY: "" };

describe("interpolateString", () => {
  test.each([
    ["plain", "plain"],
    ["${HOST}", "db.internal"],
    ["${HOST}:${PORT}", "db.internal:5432"],
    ["http://${HOST}/x", "http://db.internal/x"],
    ["${MISSING:-fallback}", "fallback"],
    ["${MISSING:-}", ""],
    ["${HOST:-fallback}", "db.internal"],
    ["${EMPTY:-fallback}", "fallback"],
    ["${EMPTY}", ""],
    ["${MISSING:-a:b-c d}", "a:b-c d"],
    ["$${HOST}", "${HOST}"],
    ["cost: $5", "cost: $5"],
    ["$$", "$$"],
    ["a$", "a$"],
    ["$HOST", "$HOST"],
  ])("%p → %p", (text, value) => {
    expect(interpolateString(text, env)).toEqual({ value, unset: [], malformed: null });
  });

  test("unset variables are listed in order", () => {
    expect(interpolateString("${A}-${HOST}-${B}", env).unset).toEqual(["A", "B"]);
  });

  test.each([
    ["${HOST", 'unterminated "${" (write "$${" for a literal "${")'],
    ["${}", 'invalid variable reference "${}" (expected ${NAME} or ${NAME:-default})'],
    ["${1X}", 'invalid variable reference "${1X}" (expected ${NAME} or ${NAME:-default})'],
    ["${A-B}", 'invalid variable reference "${A-B}" (expected ${NAME} or ${NAME:-default})'],
    ["${A:=x}", 'invalid variable reference "${A:=x}" (expected ${NAME} or ${NAME:-default})'],
  ])("%p is malformed", (text, message) => {
    expect(interpolateString(text, env).malformed).toBe(message);
  });
});

describe("interpolateTree", () => {
  test("walks tables and arrays, leaves other values alone", () => {
    const problems = new Problems();
    const tree = { a: "${HOST}", n: 5, b: true, list: ["${PORT}", 1, ["${HOST}"]], t: { deep: [{ x: "${PORT}" }] } };
    expect(interpolateTree(tree, env, problems)).toEqual({
      a: "db.internal",
      n: 5,
      b: true,
      list: ["5432", 1, ["db.internal"]],
      t: { deep: [{ x: "5432" }] },
    });
    expect(problems.count).toBe(0);
  });

  test("reports each unset variable at its key path", () => {
    const problems = new Problems();
    interpolateTree({ t: { list: ["ok", "${A}${B}"] } }, {}, problems);
    expect(problems.lines()).toEqual([
      "t.list[1]: environment variable A is not set",
      "t.list[1]: environment variable B is not set",
    ]);
  });
});

describe("in a config file", () => {
  test("an unset variable names the key path and the variable", () => {
    expect(problemsOf(withUpstream('[admin]\ntoken = "${GATEWAY_ADMIN_TOKEN}"'))).toEqual([
      "admin.token: environment variable GATEWAY_ADMIN_TOKEN is not set",
    ]);
  });

  test("values come from the env parameter, defaults fill the rest", () => {
    const config = parse(
      withUpstream(`
[admin]
token = "\${TOKEN}"
listen = "\${ADMIN_HOST:-127.0.0.1}:\${ADMIN_PORT:-9901}"
${route('methods = ["${METHOD:-GET}"]')}`),
      { TOKEN: "s3cret", ADMIN_PORT: "9999" },
    );
    expect(config.admin).toEqual({ listen: "127.0.0.1:9999", host: "127.0.0.1", port: 9999, token: "s3cret", state_file: expect.stringMatching(/gateway-state\.json$/) });
    expect(config.routes[0]!.methods).toEqual(["GET"]);
  });

  test("variables inside arrays of tables", () => {
    const config = parse(
      `[[upstreams]]\nname = "api"\ntargets = [{ url = "http://\${UP}:3001" }]\n${route()}`,
      { UP: "10.0.0.7" },
    );
    expect(config.upstreams[0]!.targets[0]!.url).toBe("http://10.0.0.7:3001");
  });

  test("$${ stays a literal ${ in the value", () => {
    const config = parse(withUpstream(`[admin]\ntoken = "a$\${b}c"`));
    expect(config.admin!.token).toBe("a${b}c");
  });

  test("an unset variable is reported once: checks of that value are skipped", () => {
    // Without the skip, the url would also be "invalid" and the jwt would lack a key source.
    expect(
      problemsOf(`
[redis]
url = "\${REDIS_URL}"
[[jwt]]
secret = "\${JWT_SECRET}"
algorithms = ["HS256"]
${withUpstream(route())}`),
    ).toEqual([
      "redis.url: environment variable REDIS_URL is not set",
      "jwt[0].secret: environment variable JWT_SECRET is not set",
    ]);
  });

  test("a malformed reference is reported with its key path", () => {
    expect(problemsOf(withUpstream('[admin]\ntoken = "${TOKEN"'))).toEqual([
      'admin.token: unterminated "${" (write "$${" for a literal "${")',
    ]);
  });

  test("an interpolated number stays a string and the schema says so", () => {
    expect(problemsOf(withUpstream('[server]\nworkers = "${N}"'), { N: "4" })).toEqual([
      'server.workers: expected a positive integer or "auto"',
    ]);
  });
});
