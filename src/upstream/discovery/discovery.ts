/**
 * DNS discovery on the control plane: every host name the targets name, and
 * every `discovery.dns_srv`, is resolved at load and re-resolved in the
 * background, each on its own timer:
 *
 *   next = clamp(smallest TTL of the answer, min_ttl, min(max_ttl, interval))
 *
 * (SRV answers come without a TTL through node:dns: an SRV name is re-queried
 * every `interval`, default 10 s, or sooner when its targets' address TTLs
 * are shorter.) A failed resolution keeps the last good answer, is retried
 * after `retry`, and is reported; it never empties an upstream (expand.ts).
 * When an answer differs from the last one, `onChange` runs once for the
 * burst (the caller swaps the workers to the new target list; requests in
 * flight finish on the old one, so a removed address drains).
 */
import type { UpstreamConfig } from "../../config/types.ts";
import { DISCOVERY_DEFAULTS, SRV_DEFAULT_INTERVAL, type DiscoveryConfig } from "./config.ts";
import { expandUpstreams, type ResolvedNames, type SrvEndpoint } from "./expand.ts";
import { isDiscoverableHost, isIpLiteral } from "./names.ts";
import { DnsError, type DnsClient, type ResolvedAddress } from "./resolver.ts";

export type NameKind = "host" | "srv";

export interface DiscoveryEvents {
  /** Every attempt (for counters). */
  resolved?(kind: NameKind, name: string, ok: boolean, error: string | null, addresses: number): void;
  /** The first failure after a success (or a failure before any answer): `kept` addresses stay in use. */
  failing?(kind: NameKind, name: string, error: string, kept: number): void;
  /** The first success after failures. */
  recovered?(kind: NameKind, name: string): void;
  /** An answer differs from the previous one (not called for the round track() awaited). */
  changed?(kind: NameKind, name: string, added: string[], removed: string[]): void;
  /** Some name's answer changed: expand the upstreams again. Called once per burst of changes. */
  onChange?(): void;
}

interface Job {
  kind: NameKind;
  name: string;
  /** Longest wait between two resolutions (ms). */
  cap: number;
  addresses: string[] | null;
  srv: SrvEndpoint[] | null;
  failing: boolean;
  lastError: string | null;
  timer: ReturnType<typeof setTimeout> | null;
  running: Promise<void> | null;
  stopped: boolean;
  /** Rounds done; the first one's answer is what track() hands the new config. */
  rounds: number;
}

export interface NameStatus {
  kind: NameKind;
  name: string;
  /** Endpoints in use ("10.0.0.1" for a host, "10.0.0.1:3001" for SRV), empty before the first answer. */
  endpoints: string[];
  failing: boolean;
  error: string | null;
}

export class DnsDiscovery implements ResolvedNames {
  readonly #jobs = new Map<string, Job>();
  readonly #settings: DiscoveryConfig;
  #notify: ReturnType<typeof setTimeout> | null = null;
  #stopped = false;

  constructor(
    private readonly client: DnsClient,
    settings: DiscoveryConfig | undefined,
    private readonly events: DiscoveryEvents = {},
  ) {
    this.#settings = settings ?? DISCOVERY_DEFAULTS;
  }

  /** Whether these upstreams name anything to resolve (no discovery work, and no resolver, otherwise). */
  static needed(upstreams: readonly UpstreamConfig[]): boolean {
    return upstreams.some((u) => u.discovery?.dns_srv || u.targets.some((t) => isDiscoverableHost(t.host)));
  }

  /**
   * Resolve the names of `upstreams` not known yet (awaited, each bounded by
   * the resolver's timeout) and keep the known ones as they are (retain()
   * stops those no longer named, once the new config is in force). Returns the SRV names that gave no answer, which
   * would leave an upstream that has no configured target empty.
   */
  async track(upstreams: readonly UpstreamConfig[]): Promise<{ name: string; error: string }[]> {
    const wanted = new Map<string, { kind: NameKind; name: string; cap: number }>();
    const max = this.#settings.max_ttl;
    for (const u of upstreams) {
      const cap = u.discovery?.interval ? Math.min(u.discovery.interval, max) : max;
      const want = (kind: NameKind, name: string, c: number) => {
        const key = `${kind}:${name.toLowerCase()}`;
        const w = wanted.get(key);
        if (w === undefined) wanted.set(key, { kind, name, cap: c });
        else w.cap = Math.min(w.cap, c);
      };
      for (const t of u.targets) if (isDiscoverableHost(t.host)) want("host", t.host, cap);
      const srv = u.discovery?.dns_srv;
      if (srv) want("srv", srv, u.discovery!.interval ? cap : Math.min(SRV_DEFAULT_INTERVAL, max));
    }
    const fresh: Job[] = [];
    for (const [key, w] of wanted) {
      const job = this.#jobs.get(key);
      if (job !== undefined) {
        job.cap = w.cap;
        continue;
      }
      const j: Job = { ...w, addresses: null, srv: null, failing: false, lastError: null, timer: null, running: null, stopped: false, rounds: 0 };
      this.#jobs.set(key, j);
      fresh.push(j);
    }
    await Promise.all(fresh.map((j) => this.#run(j)));
    return fresh.filter((j) => j.kind === "srv" && j.srv === null).map((j) => ({ name: j.name, error: j.lastError ?? "no answer" }));
  }

  /** Stop resolving names that `upstreams` no longer use. */
  retain(upstreams: readonly UpstreamConfig[]): void {
    const keys = new Set<string>();
    for (const u of upstreams) {
      for (const t of u.targets) if (isDiscoverableHost(t.host)) keys.add(`host:${t.host.toLowerCase()}`);
      if (u.discovery?.dns_srv) keys.add(`srv:${u.discovery.dns_srv.toLowerCase()}`);
    }
    for (const [key, job] of this.#jobs) {
      if (!keys.has(key)) {
        this.#stopJob(job);
        this.#jobs.delete(key);
      }
    }
  }

  /** The upstreams with every resolved name replaced by its addresses (expand.ts). */
  expand(upstreams: readonly UpstreamConfig[]): UpstreamConfig[] {
    return expandUpstreams(upstreams, this);
  }

  host(name: string): readonly string[] | null {
    return this.#jobs.get(`host:${name.toLowerCase()}`)?.addresses ?? null;
  }

  srv(name: string): readonly SrvEndpoint[] | null {
    return this.#jobs.get(`srv:${name.toLowerCase()}`)?.srv ?? null;
  }

  status(): NameStatus[] {
    return [...this.#jobs.values()].map((j) => ({ kind: j.kind, name: j.name, endpoints: endpointsOf(j), failing: j.failing, error: j.lastError }));
  }

  stop(): void {
    this.#stopped = true;
    for (const j of this.#jobs.values()) this.#stopJob(j);
    this.#jobs.clear();
    if (this.#notify !== null) clearTimeout(this.#notify);
    this.client.cancel();
  }

  #stopJob(j: Job): void {
    j.stopped = true;
    if (j.timer !== null) clearTimeout(j.timer);
    j.timer = null;
  }

  #run(j: Job): Promise<void> {
    j.running ??= this.#resolve(j).finally(() => (j.running = null));
    return j.running;
  }

  async #resolve(j: Job): Promise<void> {
    const s = this.#settings;
    let delay: number;
    const before = endpointsOf(j);
    const signatureBefore = signatureOf(j);
    // After the first round, any new answer is a change (also the first answer of a name that had none).
    const followUp = j.rounds++ > 0;
    try {
      const ttl = j.kind === "host" ? await this.#resolveHost(j) : await this.#resolveSrv(j);
      if (j.stopped) return;
      delay = clamp(ttl * 1000, s.min_ttl, Math.max(s.min_ttl, j.cap));
      this.events.resolved?.(j.kind, j.name, true, null, endpointsOf(j).length);
      if (j.failing) {
        j.failing = false;
        this.events.recovered?.(j.kind, j.name);
      }
      j.lastError = null;
      const after = endpointsOf(j);
      if (followUp && signatureOf(j) !== signatureBefore) {
        this.events.changed?.(j.kind, j.name, after.filter((e) => !before.includes(e)), before.filter((e) => !after.includes(e)));
        this.#changed();
      }
    } catch (e) {
      if (j.stopped) return;
      const error = e instanceof DnsError ? e.code : e instanceof Error ? e.message : String(e);
      j.lastError = error;
      this.events.resolved?.(j.kind, j.name, false, error, before.length);
      if (!j.failing) {
        j.failing = true;
        this.events.failing?.(j.kind, j.name, error, before.length);
      }
      delay = Math.min(s.retry, Math.max(s.min_ttl, j.cap));
    }
    if (j.stopped || this.#stopped) return;
    j.timer = setTimeout(() => {
      j.timer = null;
      void this.#run(j);
    }, delay);
    // Discovery alone never keeps the process alive.
    j.timer.unref?.();
  }

  /** Returns the smallest TTL (s). */
  async #resolveHost(j: Job): Promise<number> {
    const answer = await this.client.addresses(j.name);
    j.addresses = sortedAddresses(answer);
    return minTtl(answer);
  }

  async #resolveSrv(j: Job): Promise<number> {
    const records = await this.client.srv(j.name);
    let ttl = Infinity;
    const previous = new Map((j.srv ?? []).map((e) => [e.host.toLowerCase(), e.addresses]));
    const byHost = new Map<string, readonly string[]>();
    const failures: string[] = [];
    await Promise.all(
      [...new Set(records.map((r) => r.name.toLowerCase()))].map(async (host) => {
        if (isIpLiteral(host)) return void byHost.set(host, [host]);
        try {
          const answer = await this.client.addresses(host);
          byHost.set(host, sortedAddresses(answer));
          ttl = Math.min(ttl, minTtl(answer));
        } catch (e) {
          // One target's name failing keeps its last addresses; the others go on.
          const kept = previous.get(host);
          if (kept) byHost.set(host, kept);
          failures.push(e instanceof DnsError ? e.code : String(e));
        }
      }),
    );
    const endpoints: SrvEndpoint[] = records
      .map((r) => ({ host: r.name, port: r.port, priority: r.priority, weight: r.weight, addresses: byHost.get(r.name.toLowerCase()) ?? [] }))
      .filter((e) => e.addresses.length > 0)
      .sort((a, b) => a.priority - b.priority || a.host.localeCompare(b.host) || a.port - b.port);
    if (endpoints.length === 0) throw new DnsError(failures[0] ?? "ENODATA", j.name);
    j.srv = endpoints;
    return ttl;
  }

  #changed(): void {
    if (this.#notify !== null || this.events.onChange === undefined) return;
    // Names whose TTLs end together give one swap, not one per name.
    this.#notify = setTimeout(() => {
      this.#notify = null;
      if (!this.#stopped) this.events.onChange?.();
    }, 20);
  }
}

function endpointsOf(j: Job): string[] {
  if (j.kind === "host") return j.addresses ? [...j.addresses] : [];
  return (j.srv ?? []).flatMap((e) => e.addresses.map((a) => `${a.includes(":") ? `[${a}]` : a}:${e.port}`));
}

/** What a swap depends on: endpoints, and for SRV their priority and weight too. */
function signatureOf(j: Job): string {
  if (j.kind === "host") return (j.addresses ?? []).join(",");
  return (j.srv ?? []).map((e) => `${e.priority}/${e.weight}/${e.port}/${e.addresses.join("+")}`).join(",");
}

function sortedAddresses(answer: readonly ResolvedAddress[]): string[] {
  return [...new Set(answer.map((a) => a.address))].sort();
}

function minTtl(answer: readonly ResolvedAddress[]): number {
  let ttl = Infinity;
  for (const a of answer) if (a.ttl < ttl) ttl = a.ttl;
  return ttl;
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
