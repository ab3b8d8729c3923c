/** `gateway plugin init NAME [--dir DIR]`; exit codes as main.ts: 0 ok, 1 failed, 2 bad command line. */
import { initPlugin } from "./scaffold.ts";

const USAGE = "usage: gateway plugin init NAME [--dir DIR]";

export function pluginCommand(argv: string[]): number {
  if (argv[0] !== "init" || argv[1] === undefined || argv[1].startsWith("-")) {
    console.error(`gateway: ${USAGE}`);
    return 2;
  }
  let dir = "plugins";
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--dir" && argv[i + 1] !== undefined) dir = argv[++i]!;
    else if (a.startsWith("--dir=")) dir = a.slice("--dir=".length);
    else {
      console.error(`gateway: unknown argument "${a}" (${USAGE})`);
      return 2;
    }
  }
  const r = initPlugin(argv[1], dir);
  if (!r.ok) {
    console.error(`gateway: ${r.error}`);
    return 1;
  }
  console.log(r.lines.join("\n"));
  return 0;
}
