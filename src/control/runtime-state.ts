/**
 * What the admin API changes at run time without anyone editing config.toml:
 * consumers (roles, rate limits, API keys held as SHA-256 digests only) and
 * registered upstream targets. Plain JSON, merged into the file's TOML tables
 * before validation (mergeRuntimeState), so a runtime consumer goes through
 * exactly the same schema, normalizer and engine checks as a file one.
 *
 * Precedence: the config file wins. A runtime consumer whose name the file
 * also defines is ignored (reported in `shadowed`), and a registered target
 * whose URL the file already lists is not added twice.
 */

export interface RuntimeKey {
  /** Public handle for DELETE /consumers/{name}/keys/{id}; never the key. */
  id: string;
  /** Lower-case hex SHA-256 of the key. */
  digest: string;
  created: string;
}

export interface RuntimeConsumer {
  name: string;
  roles: string[];
  /** As the TOML would spell them (`{ algorithm, limit, window = "1m", … }`): validated by the config schema. */
  rate_limits: Record<string, unknown>[];
  keys: RuntimeKey[];
}

export interface RuntimeTarget {
  url: string;
  weight?: number;
}

export interface RuntimeState {
  version: 1;
  consumers: RuntimeConsumer[];
  /** Registered targets per upstream name. */
  targets: Record<string, RuntimeTarget[]>;
}

export function emptyState(): RuntimeState {
  return { version: 1, consumers: [], targets: {} };
}

/** A stored state, checked field by field: a damaged file must not crash the gateway, nor be half-read silently. */
export function parseState(text: string): RuntimeState {
  const raw = JSON.parse(text) as unknown;
  if (typeof raw !== "object" || raw === null || (raw as { version?: unknown }).version !== 1) throw new Error("not a gateway state document (version 1)");
  const doc = raw as Partial<RuntimeState>;
  const state = emptyState();
  for (const c of Array.isArray(doc.consumers) ? doc.consumers : []) {
    if (typeof c?.name !== "string" || c.name === "") throw new Error("consumer without a name");
    state.consumers.push({
      name: c.name,
      roles: Array.isArray(c.roles) ? c.roles.filter((r): r is string => typeof r === "string") : [],
      rate_limits: Array.isArray(c.rate_limits) ? c.rate_limits : [],
      keys: (Array.isArray(c.keys) ? c.keys : []).filter(
        (k): k is RuntimeKey => typeof k?.id === "string" && typeof k.digest === "string" && /^[0-9a-f]{64}$/.test(k.digest),
      ),
    });
  }
  if (typeof doc.targets === "object" && doc.targets !== null) {
    for (const [name, list] of Object.entries(doc.targets)) {
      if (!Array.isArray(list)) continue;
      state.targets[name] = list.filter((t): t is RuntimeTarget => typeof t?.url === "string");
    }
  }
  return state;
}

/**
 * `raw` (a parsed config.toml, not modified) with the runtime consumers and
 * targets added. `shadowed` names runtime consumers the file overrides.
 */
export function mergeRuntimeState(raw: Record<string, unknown>, state: RuntimeState): { raw: Record<string, unknown>; shadowed: string[] } {
  const out: Record<string, unknown> = { ...raw };
  const fileConsumers = Array.isArray(raw.consumers) ? (raw.consumers as Record<string, unknown>[]) : [];
  const fileNames = new Set(fileConsumers.map((c) => c?.name));
  const shadowed: string[] = [];
  const added: Record<string, unknown>[] = [];
  for (const c of state.consumers) {
    if (fileNames.has(c.name)) {
      shadowed.push(c.name);
      continue;
    }
    const entry: Record<string, unknown> = { name: c.name, roles: c.roles, rate_limits: c.rate_limits };
    if (c.keys.length > 0) entry.api_key_digests = c.keys.map((k) => k.digest);
    added.push(entry);
  }
  if (added.length > 0) out.consumers = [...fileConsumers, ...added];
  if (Array.isArray(raw.upstreams) && Object.keys(state.targets).length > 0) {
    out.upstreams = (raw.upstreams as Record<string, unknown>[]).map((u) => {
      const extra = typeof u?.name === "string" ? state.targets[u.name] : undefined;
      if (!extra || extra.length === 0) return u;
      const targets = Array.isArray(u.targets) ? (u.targets as Record<string, unknown>[]) : [];
      const known = new Set(targets.map((t) => t?.url));
      return { ...u, targets: [...targets, ...extra.filter((t) => !known.has(t.url)).map((t) => ({ ...t }))] };
    });
  }
  return { raw: out, shadowed };
}
