/**
 * `bun run release` → dist/gateway-<version>-linux-<arch>.tar.gz for x64 and
 * arm64, each holding one directory gateway-<version>-linux-<arch>/ with:
 *
 *   gateway           the single executable (version and commit baked in)
 *   config.toml       the shipped example config
 *   gateway.service   the systemd unit (deploy/)
 *   README.md         the README's "Running it in production" section, with the install steps
 *
 * and, next to the tarballs, <tarball>.sha256 and SHA256SUMS (sha256sum -c format).
 *
 * arm64 needs Bun's linux-arm64 runtime, which `bun build --compile` fetches
 * from the network the first time; offline it fails, and the release goes on
 * with x64 only, saying so (exit 0; `--require-all` makes it exit 1).
 * `--arch x64` builds one.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { COMMIT, VERSION } from "../src/version.ts";

const ROOT = resolve(import.meta.dir, "..");
const DIST = join(ROOT, "dist");
const args = process.argv.slice(2);
const only = args.includes("--arch") ? args[args.indexOf("--arch") + 1] : null;
const ARCHES = (["x64", "arm64"] as const).filter((a) => only === null || a === only);
if (ARCHES.length === 0) {
  console.error(`release: unknown --arch ${only} (x64 or arm64)`);
  process.exit(2);
}

/** The README's run section: from "## Running it in production" to the next "## ". */
function runSection(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("## Running it in production");
  const end = readme.indexOf("\n## ", start + 3);
  const section = start < 0 ? "" : readme.slice(start, end < 0 ? undefined : end).trim();
  return `# gateway ${VERSION} (commit ${COMMIT})

## Install

\`\`\`sh
install -m 0755 gateway /usr/local/bin/gateway
install -d /etc/gateway && install -m 0644 config.toml /etc/gateway/config.toml
install -m 0644 gateway.service /etc/systemd/system/gateway.service
systemctl daemon-reload && systemctl enable --now gateway
\`\`\`

Or by hand: \`./gateway --config config.toml\` (\`--check\` validates, \`--version\`, \`--help\`).

${section}
`;
}

async function build(arch: (typeof ARCHES)[number]): Promise<string | null> {
  const name = `gateway-${VERSION}-linux-${arch}`;
  const stage = join(DIST, name);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  try {
    const result = await Bun.build({
      entrypoints: [join(ROOT, "src/main.ts"), join(ROOT, "src/data/worker.ts")],
      compile: { target: `bun-linux-${arch}`, outfile: join(stage, "gateway") },
      minify: true,
      sourcemap: "inline",
      define: { "process.env.GATEWAY_COMPILED": JSON.stringify("1"), "process.env.GATEWAY_COMMIT": JSON.stringify(COMMIT) },
    });
    if (!result.success) throw new Error(result.logs.map(String).join("\n"));
  } catch (e) {
    rmSync(stage, { recursive: true, force: true });
    console.error(`release: linux-${arch} not built: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    return null;
  }
  // The compiler may leave side files (source maps) next to the binary: ship only the four named above.
  for (const f of readdirSync(stage)) if (f !== "gateway") rmSync(join(stage, f), { recursive: true, force: true });
  cpSync(join(ROOT, "config.toml"), join(stage, "config.toml"));
  cpSync(join(ROOT, "deploy/gateway.service"), join(stage, "gateway.service"));
  writeFileSync(join(stage, "README.md"), runSection());
  const tarball = join(DIST, `${name}.tar.gz`);
  // Fixed owner and order, so two releases of the same commit hold the same files.
  const tar = Bun.spawnSync(["tar", "--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-czf", tarball, "-C", DIST, name], { stderr: "pipe" });
  if (tar.exitCode !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
  rmSync(stage, { recursive: true, force: true });
  const sum = new Bun.CryptoHasher("sha256").update(readFileSync(tarball)).digest("hex");
  writeFileSync(`${tarball}.sha256`, `${sum}  ${basename(tarball)}\n`);
  console.log(`release: ${tarball}`);
  return `${sum}  ${basename(tarball)}`;
}

mkdirSync(DIST, { recursive: true });
const sums: string[] = [];
const missing: string[] = [];
for (const arch of ARCHES) {
  const line = await build(arch);
  if (line === null) missing.push(arch);
  else sums.push(line);
}
if (sums.length === 0) process.exit(1);
writeFileSync(join(DIST, "SHA256SUMS"), sums.join("\n") + "\n");
if (missing.length > 0) {
  console.error(`release: built without ${missing.join(", ")} (see above)`);
  if (args.includes("--require-all")) process.exit(1);
}
if (!existsSync(join(DIST, "SHA256SUMS"))) process.exit(1);
