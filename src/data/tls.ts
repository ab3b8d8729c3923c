/**
 * `server.tls` as Bun.serve's `tls` option, read from disk.
 *
 * Bun.serve takes an array of TLS objects, one per SNI name (`serverName`),
 * and answers a client without SNI, or with a name no object lists, with the
 * FIRST object (measured on Bun 1.4.5: `openssl s_client -noservername` and
 * `-servername unknown.example` both get the first certificate). So the
 * first configured certificate goes first, and a certificate with several
 * hosts becomes one object per host (the same PEM text each time).
 *
 * The files are read here, as text, so that a reload can tell whether they
 * changed (`fingerprint`): Bun.serve cannot swap certificates on a running
 * listener (`server.reload()` takes handlers only; measured: the old
 * certificate keeps being served), so the worker opens a new listener when
 * the fingerprint differs (worker.ts).
 */
import type { TLSOptions } from "bun";
import { constants } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ServerConfig, TlsCertificate } from "../config/types.ts";

/**
 * The protocol floor as SSL_OP_NO_* bits, set explicitly so it does not hang
 * on Bun's default (TLS 1.2 on 1.4.5) or a `--tls-min-v1.0` in BUN_OPTIONS.
 */
export function secureOptions(min: ServerConfig["tls_min_version"]): number {
  const below12 = constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1;
  return min === "1.3" ? below12 | constants.SSL_OP_NO_TLSv1_2 : below12;
}

export interface LoadedTls {
  options: TLSOptions[];
  /** Changes when any file's content, any host or the order changes. */
  fingerprint: string;
}

export function loadTls(server: Pick<ServerConfig, "tls_min_version" | "tls_ciphers">, certs: readonly TlsCertificate[]): LoadedTls {
  const options: TLSOptions[] = [];
  const common = { secureOptions: secureOptions(server.tls_min_version), ciphers: server.tls_ciphers };
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(`${server.tls_min_version}\0${server.tls_ciphers}\0`);
  for (const c of certs) {
    const cert = readFileSync(c.cert, "utf8");
    const key = readFileSync(c.key, "utf8");
    hasher.update(`${cert}\0${key}\0${c.hosts.join(",")}\0`);
    if (c.hosts.length === 0) options.push({ cert, key, ...common });
    for (const serverName of c.hosts) options.push({ cert, key, serverName, ...common });
  }
  return { options, fingerprint: hasher.digest("hex") };
}
