/**
 * The certificate checks of `server.tls`, run by verifyConfig at --check,
 * start and every reload (so a reload with a broken certificate is refused
 * and the running one keeps serving). Bun.serve refuses a certificate or key
 * it cannot load, in every worker; node:tls's createSecureContext is the same
 * BoringSSL call, so what passes here loads there.
 *
 * Per certificate, each under its own key path:
 *   cert   the file holds a PEM certificate BoringSSL can load
 *   key    the file holds a PEM private key it can load (unencrypted)
 *   entry  the key is the certificate's (X509_check_private_key)
 *   hosts  the certificate covers each SNI name listed for it
 *          (RFC 6125 §6.4: a client checks the name it asked for)
 */

import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { KeyedProblem } from "../errors.ts";
import { describeFsError } from "./normalize-common.ts";
import type { TlsCertificate } from "./types.ts";

/** Problems of one certificate entry, with paths relative to it. */
export function certificateProblems(entry: TlsCertificate): KeyedProblem[] {
  const out: KeyedProblem[] = [];
  const cert = readPem(entry.cert, "cert", out);
  const key = readPem(entry.key, "key", out);
  if (cert === null || key === null) return out;
  const certProblem = secureContextProblem({ cert });
  const keyProblem = secureContextProblem({ key });
  if (certProblem !== null) out.push({ path: ["cert"], message: `not a usable PEM certificate (${certProblem}): ${entry.cert}` });
  if (keyProblem !== null) out.push({ path: ["key"], message: `not a usable PEM private key (${keyProblem}): ${entry.key}` });
  if (certProblem !== null || keyProblem !== null) return out;
  const pair = secureContextProblem({ cert, key });
  if (pair !== null) {
    out.push({ path: [], message: `key and cert do not go together (${pair}): ${entry.key} is not the key of ${entry.cert}` });
    return out;
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    out.push({ path: ["cert"], message: `not a usable PEM certificate (${(e as Error).message}): ${entry.cert}` });
    return out;
  }
  entry.hosts.forEach((host, j) => {
    // A wildcard entry is covered by a wildcard (or by nothing narrower): probe it with one label.
    const probe = host.startsWith("*.") ? `sni-probe${host.slice(1)}` : host;
    if (x509.checkHost(probe, { wildcards: true, partialWildcards: false }) === undefined) {
      out.push({
        path: ["hosts", j],
        message: `the certificate in ${entry.cert} does not cover ${JSON.stringify(host)} (it names ${x509.subjectAltName ?? x509.subject.replace(/\n/g, ", ")})`,
      });
    }
  });
  return out;
}

/** Why BoringSSL refuses `server.tls_ciphers`, or null. */
export function cipherProblem(ciphers: string): string | null {
  const problem = secureContextProblem({ ciphers });
  return problem === null ? null : `not a cipher list BoringSSL accepts (${problem})`;
}

function readPem(file: string, which: "cert" | "key", out: KeyedProblem[]): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    out.push({ path: [which], message: `cannot read file "${file}": ${describeFsError(e)}` });
    return null;
  }
}

function secureContextProblem(options: { cert?: string; key?: string; ciphers?: string }): string | null {
  try {
    createSecureContext(options);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
