import { until } from "../helpers/wait.ts";
import { afterAll, describe, expect, test } from "bun:test";
import type { HealthCheckConfig } from "../../src/config/types.ts";
import { startHealthChecks, type HealthChange } from "../../src/upstream/health-checker.ts";
import { createUpstreamRuntime } from "../../src/upstream/runtime.ts";
import { allocateUpstreamState, UpstreamStateView } from "../../src/upstream/shared-state.ts";
import { ctx, upstream } from "./helpers.ts";

const hc: HealthCheckConfig = { path: "/health", interval: 40, timeout: 150, healthy: 2, unhealthy: 2, expected_status: [200, 399] };

/** Upstream whose /health answers `status` (settable); it records what it was asked. */
function flipping() {
  const state = { status: 200, seen: [] as string[] };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      state.seen.push(`${req.method} ${new URL(req.url).pathname} ${req.headers.get("user-agent")}`);
      return new Response("ok", { status: state.status });
    },
  });
  return { state, server, url: `http://127.0.0.1:${server.port}` };
}

let releaseHung: () => void = () => {};
const hung = new Promise<Response>((resolve) => {
  releaseHung = () => resolve(new Response("late"));
});
const flip = flipping();
const hanging = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => hung });
const killed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("ok") });
const killedUrl = `http://127.0.0.1:${killed.port}`;
killed.stop(true);

afterAll(() => {
  releaseHung();
  flip.server.stop(true);
  hanging.stop(true);
});


describe("active health checks", () => {
  test("up, hanging (timeout) and killed (refused) targets, seen through a second view of the buffer", async () => {
    const config = upstream({ name: "api", targets: [flip.url, `http://127.0.0.1:${hanging.port}`, killedUrl], health_check: hc });
    const sab = allocateUpstreamState([config]);
    const changes: HealthChange[] = [];
    const checks = startHealthChecks([config], new UpstreamStateView(sab, [config]), { onChange: (c) => changes.push(c) });
    // As a worker would: its own view and runtime over the same buffer.
    const worker = new UpstreamStateView(sab, [config]);
    const rt = createUpstreamRuntime(config, worker, 0);
    const health = () => worker.snapshot()[0]!.targets.map((t) => t.health);
    try {
      await until("hanging and killed targets down", () => health().join() === "up,down,down");
      const [ok, slow, dead] = worker.snapshot()[0]!.targets;
      expect(ok).toMatchObject({ check_status: 200, check_error: null });
      expect(slow).toMatchObject({ check_status: null, check_error: "timeout" });
      expect(dead).toMatchObject({ check_status: null, check_error: "connect" });
      for (let k = 0; k < 20; k++) expect(rt.pick(ctx(), null)).toBe(0);
      expect(changes.map((c) => [c.target, c.up, c.error]).sort()).toEqual(
        [[`http://127.0.0.1:${hanging.port}`, false, "timeout"], [killedUrl, false, "connect"]].sort(),
      );
      expect(flip.state.seen[0]).toBe("GET /health gateway-health-check");

      flip.state.status = 503;
      await until("flipped target down", () => health()[0] === "down");
      expect(worker.snapshot()[0]!.targets[0]!.check_status).toBe(503);
      expect(rt.pick(ctx(), null)).toBe(-1);

      flip.state.status = 204;
      await until("flipped target back up", () => health()[0] === "up");
      expect(rt.pick(ctx(), null)).toBe(0);
      expect(changes.at(-1)).toMatchObject({ upstream: "api", target: flip.url, up: true, status: 204 });
    } finally {
      checks.stop();
    }
  });

  test("healthy/unhealthy are consecutive thresholds", async () => {
    const f = flipping();
    try {
      const config = upstream({ targets: [f.url], health_check: { ...hc, interval: 20, healthy: 3, unhealthy: 3 } });
      const sab = allocateUpstreamState([config]);
      const view = new UpstreamStateView(sab, [config]);
      const checks = startHealthChecks([config], view);
      try {
        // Fail twice, succeed once, repeatedly: never three failures in a row.
        let n = 0;
        f.server.reload({ fetch: () => new Response("", { status: n++ % 3 === 2 ? 200 : 500 }) });
        await until("a dozen checks", () => n >= 12);
        expect(view.isHealthy(0, 0)).toBe(true);
        f.server.reload({ fetch: () => new Response("", { status: 500 }) });
        await until("down", () => !view.isHealthy(0, 0));
        f.server.reload({ fetch: () => new Response("", { status: n++ % 3 === 2 ? 500 : 200 }) });
        await Bun.sleep(200);
        expect(view.isHealthy(0, 0)).toBe(false);
      } finally {
        checks.stop();
      }
    } finally {
      f.server.stop(true);
    }
  });

  test("expected_status decides what counts as healthy", async () => {
    const f = flipping();
    f.state.status = 204;
    try {
      const config = upstream({ targets: [f.url], health_check: { ...hc, interval: 20, unhealthy: 1, expected_status: [200, 200] } });
      const view = new UpstreamStateView(allocateUpstreamState([config]), [config]);
      const checks = startHealthChecks([config], view);
      try {
        await until("204 counted as unhealthy", () => !view.isHealthy(0, 0));
        f.state.status = 200;
        await until("200 healthy again", () => view.isHealthy(0, 0));
      } finally {
        checks.stop();
      }
    } finally {
      f.server.stop(true);
    }
  });

  test("stop() ends every loop: no more requests, no more writes", async () => {
    const f = flipping();
    try {
      const config = upstream({ targets: [f.url], health_check: { ...hc, interval: 10, unhealthy: 1 } });
      const view = new UpstreamStateView(allocateUpstreamState([config]), [config]);
      const checks = startHealthChecks([config], view);
      await until("a few checks", () => f.state.seen.length >= 3);
      checks.stop();
      const seen = f.state.seen.length;
      f.state.status = 500;
      await Bun.sleep(100);
      expect(f.state.seen.length).toBeLessThanOrEqual(seen + 1);
      expect(view.isHealthy(0, 0)).toBe(true);
    } finally {
      f.server.stop(true);
    }
  });

  test("upstreams without health_check are not probed", async () => {
    const f = flipping();
    try {
      const config = upstream({ targets: [f.url] });
      const checks = startHealthChecks([config], new UpstreamStateView(allocateUpstreamState([config]), [config]));
      await Bun.sleep(60);
      checks.stop();
      expect(f.state.seen).toEqual([]);
    } finally {
      f.server.stop(true);
    }
  });
});
