import type { JwtIssuerConfig } from "../config/types.ts";
import { keyedLine, type KeyedProblem, type KeyPath } from "../errors.ts";
import {
  ASYMMETRIC_ALGORITHMS,
  algorithmNameProblem,
  algorithmSpec,
  fitsKeySource,
  keyFitsAlgorithm,
  type AlgorithmSpec,
} from "./algorithms.ts";
import type { ClaimRules } from "./claims.ts";
import { claimReader, type ClaimNames } from "./identity.ts";
import { JwksKeySource } from "./jwks.ts";
import { algorithmsForKey, importSecret, parsePublicKeyText, type VerifyKey } from "./keys.ts";

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
    const plan = planIssuer(cfg);
    if (Array.isArray(plan)) return plan.map((p) => keyedLine(["jwt", index], p));
    const { staticKey, algorithms } = plan;

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

interface IssuerPlan {
  readonly staticKey: VerifyKey | null;
  readonly algorithms: readonly string[];
}

/**
 * What IssuerVerifier.compile refuses, each with its path relative to the
 * issuer (["algorithms", 1], ["public_key"]). Pure: imports the static key
 * but fetches nothing, so config load runs it too (src/config/verify.ts).
 */
export function issuerProblems(cfg: JwtIssuerConfig): KeyedProblem[] {
  const plan = planIssuer(cfg);
  return Array.isArray(plan) ? plan : [];
}

/** The issuer's key and allowlist, or why it cannot be served. */
function planIssuer(cfg: JwtIssuerConfig): IssuerPlan | KeyedProblem[] {
  const problems: KeyedProblem[] = [];
  const add = (path: KeyPath, message: string) => problems.push({ path, message });
  const sources = [cfg.jwks_url, cfg.secret, cfg.public_key].filter((s) => s !== null && s !== "").length;
  if (sources !== 1) return [{ path: [], message: "set exactly one of jwks_url, secret, public_key" }];

  cfg.algorithms.forEach((alg, i) => {
    const bad = algorithmNameProblem(alg);
    if (bad !== null) add(["algorithms", i], bad);
  });
  if (problems.length > 0) return problems;

  let staticKey: VerifyKey | null = null;
  let algorithms: readonly string[];
  if (cfg.secret) {
    const secret = importSecret(cfg.secret);
    staticKey = secret;
    algorithms = cfg.algorithms.length > 0 ? cfg.algorithms : ["HS256"];
    algorithms.forEach((name, i) => {
      const alg = algorithmSpec(name)!;
      if (!fitsKeySource(alg, "secret")) add(["algorithms", i], `"${name}" needs a public key, not a secret`);
      // RFC 7518 §3.2: the HMAC key must be at least as long as the hash output.
      else if (!keyFitsAlgorithm(alg, secret)) {
        add(["secret"], `${name} needs a secret of at least ${alg.hashBytes} bytes (RFC 7518 §3.2)`);
      }
    });
  } else if (cfg.public_key) {
    const key = parsePublicKeyText(cfg.public_key);
    if (typeof key === "string") return [{ path: ["public_key"], message: key }];
    staticKey = key;
    const fitting = algorithmsForKey(key, ASYMMETRIC_ALGORITHMS);
    algorithms = cfg.algorithms.length > 0 ? cfg.algorithms : fitting.slice(0, 1);
    algorithms.forEach((name, i) => {
      if (!fitting.includes(name)) add(["algorithms", i], `"${name}" does not fit the ${key.kind} public key`);
    });
  } else {
    algorithms = cfg.algorithms.length > 0 ? cfg.algorithms : ASYMMETRIC_ALGORITHMS.slice();
    algorithms.forEach((name, i) => {
      if (!fitsKeySource(algorithmSpec(name)!, "jwks_url")) add(["algorithms", i], `"${name}" cannot be used with jwks_url`);
    });
  }
  return problems.length > 0 ? problems : { staticKey, algorithms };
}
