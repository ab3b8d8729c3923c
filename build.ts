/**
 * `bun run build` → ./gateway, one self-contained executable. The worker
 * thread is a second entry point embedded in the binary; control.ts loads it
 * by the same relative path when GATEWAY_COMPILED=1 is baked in.
 */
import { COMMIT } from "./src/version.ts";

const result = await Bun.build({
  entrypoints: ["./src/main.ts", "./src/data/worker.ts"],
  compile: { outfile: "./gateway" },
  minify: true,
  sourcemap: "inline",
  define: { "process.env.GATEWAY_COMPILED": JSON.stringify("1"), "process.env.GATEWAY_COMMIT": JSON.stringify(COMMIT) },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log("built ./gateway");

export {};
