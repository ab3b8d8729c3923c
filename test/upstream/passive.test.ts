import { describe, expect, test } from "bun:test";
import { createUpstreamRuntime, retryAfterSeconds } from "../../src/upstream/runtime.ts";
import { ctx, ManualClock, setup, upstream, urls } from "./helpers.ts";

const c = ctx();
const passive = { max_fails: 3, fail_timeout: 10_000 };

function end(rt: ReturnType<typeof setup>["rt"], i: number, failed: boolean): void {
  rt.onStart(i);
  rt.onEnd(i, failed, 1);
}

describe("passive health (nginx max_fails / fail_timeout)", () => {
  test("max_fails failures within fail_timeout mark the target unavailable for fail_timeout", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(1), passive }), clock.now);
    end(rt, 0, true);
    clock.advance(4000);
    end(rt, 0, true);
    expect(rt.pick(c, null)).toBe(0);
    clock.advance(4000);
    end(rt, 0, true);
    expect(rt.pick(c, null)).toBe(-1);
    expect(view.snapshot(clock.t)[0]!.targets[0]!.passive).toBe("down");
    expect(retryAfterSeconds(rt)).toBe(10);
    clock.advance(9999);
    expect(rt.pick(c, null)).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, null)).toBe(0);
  });

  test("failures spread wider than fail_timeout do not add up", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(1), passive }), clock.now);
    for (let k = 0; k < 10; k++) {
      end(rt, 0, true);
      end(rt, 0, true);
      clock.advance(10_001);
    }
    expect(rt.pick(c, null)).toBe(0);
  });

  test("successes inside the window do not clear the count (as nginx)", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(1), passive }), clock.now);
    end(rt, 0, true);
    end(rt, 0, false);
    end(rt, 0, true);
    end(rt, 0, false);
    end(rt, 0, true);
    expect(rt.pick(c, null)).toBe(-1);
  });

  test("after fail_timeout one probe goes through; its success restores the target", () => {
    const clock = new ManualClock();
    const { rt, view } = setup(upstream({ targets: urls(1), passive }), clock.now);
    for (let k = 0; k < 3; k++) end(rt, 0, true);
    clock.advance(10_000);
    expect(rt.pick(c, null)).toBe(0);
    // The probe is in flight: nobody else gets the target meanwhile.
    expect(rt.pick(c, null)).toBe(-1);
    end(rt, 0, false);
    expect(view.snapshot(clock.t)[0]!.targets[0]!.passive).toBe("ok");
    for (let k = 0; k < 5; k++) expect(rt.pick(c, null)).toBe(0);
    // And the count starts from zero again.
    end(rt, 0, true);
    end(rt, 0, true);
    expect(rt.pick(c, null)).toBe(0);
  });

  test("a failed probe keeps the target out for another fail_timeout", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(1), passive }), clock.now);
    for (let k = 0; k < 3; k++) end(rt, 0, true);
    clock.advance(10_000);
    expect(rt.pick(c, null)).toBe(0);
    clock.advance(500);
    end(rt, 0, true);
    clock.advance(9_999);
    expect(rt.pick(c, null)).toBe(-1);
    clock.advance(1);
    expect(rt.pick(c, null)).toBe(0);
  });

  test("only one worker gets the probe", () => {
    const clock = new ManualClock();
    const config = upstream({ targets: urls(2), passive });
    const { rt: a, view } = setup(config, clock.now);
    const b = createUpstreamRuntime(config, view, 0, clock.now);
    for (let k = 0; k < 3; k++) end(a, 0, true);
    for (let k = 0; k < 20; k++) expect(b.pick(c, null)).toBe(1);
    clock.advance(10_000);
    const picks = [...Array.from({ length: 20 }, () => a.pick(c, null)), ...Array.from({ length: 20 }, () => b.pick(c, null))];
    expect(picks.filter((i) => i === 0).length).toBe(1);
  });

  test("max_fails = 0 disables passive checks", () => {
    const clock = new ManualClock();
    const { rt } = setup(upstream({ targets: urls(1), passive: { max_fails: 0, fail_timeout: 10_000 } }), clock.now);
    for (let k = 0; k < 50; k++) end(rt, 0, true);
    expect(rt.pick(c, null)).toBe(0);
  });

  test("real time: out for fail_timeout (80 ms), then probed", async () => {
    const { rt } = setup(upstream({ targets: urls(2), passive: { max_fails: 2, fail_timeout: 80 } }));
    end(rt, 0, true);
    end(rt, 0, true);
    const down = performance.now();
    const early = Array.from({ length: 10 }, () => rt.pick(c, null));
    if (performance.now() - down < 70) expect(early).toEqual(new Array(10).fill(1));
    await Bun.sleep(95);
    const picks = Array.from({ length: 10 }, () => rt.pick(c, null));
    expect(picks.filter((i) => i === 0).length).toBe(1);
  });
});
