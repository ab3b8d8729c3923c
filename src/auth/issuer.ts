import type { JwtIssuerConfig } from "../config/types.ts";
import { ASYMMETRIC_ALGORITHMS, algorithmSpec, keyFitsAlgorithm, type AlgorithmSpec } from "./algorithms.ts";
import type { ClaimRules } from "./claims.ts";
import { claimReader, type ClaimNames } from "./identity.ts";
import { JwksKeySource } from "./jwks.ts";
import { algorithmsForKey, importPublicKeyText, importSecret, type VerifyKey } from "./keys.ts";

/**
 * One [[jwt]] issuer, compiled: its allowlist of algorithms, its key source
 * (shared secret, public key, or remote JWKS), its claim rules and claim
 * names. Built once per worker; problems are returned with their key path.
 */
export class IssuerVerifier {
  private constructor(
    readonly issuer: string | null,
    readonly rules: ClaimRules,
    readonly maxTokenSize: number,
    readonly claimNames: ClaimNames,
    private readonly allowed: ReadonlyMap<string, AlgorithmSpec>,
    private readonly staticKey: VerifyKey | null,
    readonly jwks: JwksKeySource | null,
  ) {}

  /** The spec of `alg` when this issuer allows it; undefined otherwise ("none" is never allowed). */
  algorithm(alg: string): AlgorithmSpec | undefined {
    return this.allowed.get(alg);
  }

  get algorithms(): string[] {
    return [...this.allowed.keys()];
  }

  /** Synchronous key lookup; undefined when no known key fits (kid, alg). */
  findKey(kid: string | null, alg: AlgorithmSpec): VerifyKey | undefined {
    if (this.staticKey !== null) return keyFitsAlgorithm(alg, this.staticKey) ? this.staticKey : undefined;
    return this.jwks!.find(kid, alg.name);
  }

  /**
   * Compile `cfg` (jwt[index]). Returns the verifier, or the list of problems
   * (each prefixed with its key path) when the config cannot be served safely.
   */
  static compile(cfg: JwtIssuerConfig, index: number, now: () => number): IssuerVerifier | string[] {
    const at = `jwt[${index}]`;
    const problems: string[] = [];
    const sources = [cfg.jwks_url, cfg.secret, cfg.public_key].filter((s) => s !== null && s !== "").length;
    if (sources !== 1) return [`${at}: set exactly one of jwks_url, secret, public_key`];

    for (const alg of cfg.algorithms) {
      if (alg === "none") problems.push(`${at}.algorithms: "none" is never accepted (RFC 8725 §3.1)`);
      else if (algorithmSpec(alg) === undefined) problems.push(`${at}.algorithms: unknown algorithm "${alg}"`);
    }
    if (problems.length > 0) return problems;

    let staticKey: VerifyKey | null = null;
    let algorithms: string[];
    if (cfg.secret) {
      staticKey = importSecret(cfg.secret);
      algorithms = cfg.algorithms.length > 0 ? cfg.algorithms : ["HS256"];
      for (const name of algorithms) {
        const alg = algorithmSpec(name)!;
        if (alg.family !== "hmac") problems.push(`${at}.algorithms: "${name}" needs a public key, not a secret`);
        // RFC 7518 §3.2: the HMAC key must be at least as long as the hash output.
        else if (staticKey.kind === "secret" && staticKey.secret.length < alg.hashBytes) {
          problems.push(`${at}.secret: ${name} needs a secret of at least ${alg.hashBytes} bytes (RFC 7518 §3.2)`);
        }
      }
    } else if (cfg.public_key) {
      try {
        staticKey = importPublicKeyText(cfg.public_key);
      } catch (err) {
        return [`${at}.public_key: ${(err as Error).message}`];
      }
      const fitting = algorithmsForKey(staticKey, ASYMMETRIC_ALGORITHMS);
      algorithms = cfg.algorithms.length > 0 ? cfg.algorithms : fitting.slice(0, 1);
      for (const name of algorithms) {
        if (!fitting.includes(name)) problems.push(`${at}.algorithms: "${name}" does not fit the ${staticKey.kind} public key`);
      }
    } else {
      algorithms = cfg.algorithms.length > 0 ? cfg.algorithms : ASYMMETRIC_ALGORITHMS.slice();
      for (const name of algorithms) {
        if (algorithmSpec(name)!.family === "hmac") problems.push(`${at}.algorithms: "${name}" cannot be used with jwks_url`);
      }
    }
    if (problems.length > 0) return problems;

    const jwks = cfg.jwks_url
      ? new JwksKeySource({
          url: cfg.jwks_url,
          algorithms,
          cooldown: cfg.jwks_cooldown,
          refresh: cfg.jwks_refresh,
          now,
        })
      : null;
    const allowed = new Map(algorithms.map((name) => [name, algorithmSpec(name)!] as const));
    const rules: ClaimRules = Object.freeze({
      issuer: cfg.issuer,
      audience: Object.freeze([...cfg.audience]),
      clockSkew: cfg.clock_skew,
      requireExp: cfg.require_exp,
    });
    const claimNames: ClaimNames = Object.freeze({
      consumer: claimReader(cfg.consumer_claim),
      roles: claimReader(cfg.roles_claim),
      scopes: claimReader(cfg.scopes_claim),
      permissions: claimReader(cfg.permissions_claim),
    });
    return new IssuerVerifier(cfg.issuer, rules, cfg.max_token_size, claimNames, allowed, staticKey, jwks);
  }
}
