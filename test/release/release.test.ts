import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { COMMIT } from "../../src/version.ts";
import { startGatewayAt } from "../helpers/gateway.ts";

const ROOT = resolve(import.meta.dir, "../..");
const NAME = `gateway-${pkg.version}-linux-x64`;
const TARBALL = join(ROOT, "dist", `${NAME}.tar.gz`);
const work = mkdtempSync(join(tmpdir(), "gw-release-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("bun run release", () => {
  test("builds the x64 tarball with its checksum", () => {
    const r = Bun.spawnSync(["bun", "scripts/release.ts", "--arch", "x64"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(0);
    expect(existsSync(TARBALL)).toBe(true);
    const [sum, file] = readFileSync(`${TARBALL}.sha256`, "utf8").trim().split(/\s+/);
    expect(file).toBe(`${NAME}.tar.gz`);
    expect(sum).toBe(new Bun.CryptoHasher("sha256").update(readFileSync(TARBALL)).digest("hex"));
    expect(readFileSync(join(ROOT, "dist/SHA256SUMS"), "utf8")).toContain(`${sum}  ${NAME}.tar.gz`);
    const check = Bun.spawnSync(["sha256sum", "-c", `${NAME}.tar.gz.sha256`], { cwd: join(ROOT, "dist") });
    expect(check.exitCode).toBe(0);
  }, 120_000);

  test("unpacks to the binary, config, unit and run notes; the binary runs", async () => {
    expect(Bun.spawnSync(["tar", "-xzf", TARBALL, "-C", work]).exitCode).toBe(0);
    const dir = join(work, NAME);
    const listing = Bun.spawnSync(["tar", "-tzf", TARBALL], { stdout: "pipe" }).stdout.toString().trim().split("\n").sort();
    expect(listing).toEqual([`${NAME}/`, `${NAME}/README.md`, `${NAME}/config.toml`, `${NAME}/gateway`, `${NAME}/gateway.service`]);
    expect(readFileSync(join(dir, "gateway.service"), "utf8")).toContain("ExecStart=/usr/local/bin/gateway");
    expect(readFileSync(join(dir, "README.md"), "utf8")).toContain("## Running it in production");
    const v = Bun.spawnSync([join(dir, "gateway"), "--version"], { cwd: work, stdout: "pipe" });
    expect(v.exitCode).toBe(0);
    expect(v.stdout.toString().trim()).toBe(`gateway ${pkg.version} (commit ${COMMIT})`);
    const check = Bun.spawnSync([join(dir, "gateway"), "--config", join(dir, "config.toml"), "--check"], { cwd: work, stdout: "pipe", stderr: "pipe" });
    expect(check.exitCode).toBe(0);
    // And it serves: the unpacked binary, outside the repository, on a loopback port.
    const upstream = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => new Response(new URL(req.url).pathname) });
    const cfg = join(work, "run.toml");
    writeFileSync(cfg, `[server]\nlisten = "127.0.0.1:0"\nworkers = 2\n\n[[upstreams]]\nname = "u"\ntargets = [{ url = "http://127.0.0.1:${upstream.port}" }]\n\n[[routes]]\nname = "all"\npath = "/*"\nupstream = "u"\n`);
    const gw = await startGatewayAt(cfg, { command: [join(dir, "gateway"), "--config", cfg] });
    try {
      const r = await fetch(`${gw.url}/from-release`);
      expect(await r.text()).toBe("/from-release");
    } finally {
      await gw.stop();
      upstream.stop(true);
    }
  }, 60_000);
});
