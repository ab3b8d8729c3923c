import { join } from "node:path";

/** A certificate and its key, as PEM files. */
export interface CertFiles {
  cert: string;
  key: string;
}

/**
 * A self-signed P-256 certificate for `names` (the first is the subject's CN;
 * all go in subjectAltName as DNS names), made by openssl in `dir` as
 * `<file>.pem` and `<file>-key.pem`. EC keys: a few milliseconds each.
 */
export function makeCert(dir: string, file: string, names: string[]): CertFiles {
  const cert = join(dir, `${file}.pem`);
  const key = join(dir, `${file}-key.pem`);
  const san = names.map((n) => `DNS:${n}`).join(",");
  const r = Bun.spawnSync(
    ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
      "-keyout", key, "-out", cert, "-subj", `/CN=${names[0]}`, "-addext", `subjectAltName=${san}`],
    { stdout: "pipe", stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { cert, key };
}
