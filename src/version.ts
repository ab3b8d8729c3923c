import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;

/**
 * The git commit this was built from: baked into the binary by build.ts and
 * scripts/release.ts (`define`), asked of git when run from the sources,
 * "unknown" when neither can tell.
 */
export const COMMIT: string = process.env.GATEWAY_COMMIT || sourceCommit();

function sourceCommit(): string {
  try {
    const r = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: import.meta.dir, stdout: "pipe", stderr: "ignore" });
    const out = r.stdout.toString().trim();
    return r.exitCode === 0 && /^[0-9a-f]+$/.test(out) ? out : "unknown";
  } catch {
    return "unknown";
  }
}
