/** Route key `websocket`: its values, defaults, and the refusals with their key paths. */
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

describe("websocket config", () => {
  test("absent or false: not a WebSocket route", () => {
    expect(testConfig(route("")).routes[0]!.websocket).toBeNull();
    expect(testConfig(route("websocket = false")).routes[0]!.websocket).toBeNull();
  });

  test("true: the defaults", () => {
    expect(testConfig(route("websocket = true")).routes[0]!.websocket).toEqual({
      idle_timeout: 60_000,
      max_message_size: 1024 * 1024,
      max_buffer: 1024 * 1024,
      drain_timeout: 30_000,
    });
  });

  test("a table sets each value; idle_timeout 0s turns it off", () => {
    const ws = testConfig(route('websocket = { idle_timeout = "0s", max_message_size = "64KB", max_buffer = "256KB", drain_timeout = "5s" }')).routes[0]!.websocket;
    expect(ws).toEqual({ idle_timeout: 0, max_message_size: 64 * 1024, max_buffer: 256 * 1024, drain_timeout: 5000 });
  });

  const cases: [string, string, string, string][] = [
    ["wrong type", 'websocket = "yes"', "routes[0].websocket", "expected true, false or a table"],
    ["unknown key", 'websocket = { idle = "5s" }', "routes[0].websocket", "idle"],
    ["bad duration", 'websocket = { idle_timeout = "soon" }', "routes[0].websocket.idle_timeout", ""],
    ["bad size", 'websocket = { max_buffer = "lots" }', "routes[0].websocket.max_buffer", ""],
    ["message cap past Bun's", 'websocket = { max_message_size = "32MB" }', "routes[0].websocket.max_message_size", "at most 16MB"],
    ["message cap 0", 'websocket = { max_message_size = "0B" }', "routes[0].websocket.max_message_size", "greater than 0"],
    ["tiny buffer", 'websocket = { max_buffer = "100B" }', "routes[0].websocket.max_buffer", "at least"],
    ["drain_timeout 0", 'websocket = { drain_timeout = "0s" }', "routes[0].websocket.drain_timeout", "greater than 0"],
    ["methods without GET", 'methods = ["POST"]\nwebsocket = true', "routes[0].methods", "must allow GET"],
  ];
  for (const [what, keys, path, text] of cases) {
    test(`${what}: ${path}`, () => {
      const msg = problems(route(keys));
      expect(msg).toContain(path);
      expect(msg).toContain(text);
    });
  }

  test("on an aggregate route: refused at routes[0].websocket", () => {
    const toml = withRoutes(`[[routes]]\nname = "agg"\npath = "/agg"\nupstream = "u"\nwebsocket = true\n[[routes.aggregate]]\npath = "/a"\nas = "a"\n`);
    expect(problems(toml)).toContain("routes[0].websocket: does not apply to an aggregate route");
  });
});
