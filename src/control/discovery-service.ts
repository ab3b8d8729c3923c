/**
 * The control plane's side of DNS discovery (src/upstream/discovery): one
 * DnsDiscovery for the running config, created only when some target names a
 * host or some upstream has discovery.dns_srv, its answers turned into the
 * config workers run (`expand`), and every step reported as events on stderr
 * and as metrics:
 *
 *   gateway_dns_resolutions_total{name,result}   every query round (success | failure)
 *   gateway_dns_addresses{name}                   addresses (SRV: endpoints) in use
 *   events dns_targets_changed, dns_resolve_failed, dns_resolve_recovered
 *
 * A reload prepares the next config's names first and commits them only
 * once every worker took it, so a refused reload leaves discovery as it was.
 */
import type { DiscoveryConfig } from "../upstream/discovery/config.ts";
import type { GatewayConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { controlEvent } from "../metrics/events.ts";
import { metricsRegistry } from "../metrics/registry.ts";
import { DnsDiscovery, type NameStatus } from "../upstream/discovery/discovery.ts";
import { createDnsClient } from "../upstream/discovery/resolver.ts";

export interface PreparedTargets {
  /** The config workers are to run: target names replaced by their addresses. */
  readonly effective: GatewayConfig;
  /** The config is in force: stop resolving what it no longer names. */
  commit(): void;
  /** It was refused: forget what was resolved for it. */
  abandon(): void;
}

export class DiscoveryService {
  #current: DnsDiscovery | null = null;
  #settingsKey = "null";
  #running: GatewayConfig | null = null;

  /** `onChange`: an answer changed; the caller swaps the workers to `expand(running config)`. */
  constructor(private readonly onChange: () => void) {}

  /**
   * Resolve what `next` names and is not resolved yet (awaited, bounded by
   * [discovery] timeout). Throws ConfigError when an upstream would have no
   * target at all (an SRV name with no answer and no configured targets).
   */
  async prepare(next: GatewayConfig): Promise<PreparedTargets> {
    const current = this.#current;
    if (!DnsDiscovery.needed(next.upstreams)) {
      return {
        effective: next,
        commit: () => {
          current?.stop();
          this.#current = null;
          this.#running = next;
        },
        abandon: () => {},
      };
    }
    const key = JSON.stringify(next.discovery ?? null);
    const fresh = current === null || key !== this.#settingsKey;
    const d = fresh ? this.#create(next.discovery) : current;
    const drop = () => (fresh ? d.stop() : d.retain(this.#running?.upstreams ?? []));
    try {
      const unanswered = await d.track(next.upstreams);
      const problems: string[] = [];
      next.upstreams.forEach((u, i) => {
        const srv = u.discovery?.dns_srv;
        const miss = srv ? unanswered.find((x) => x.name === srv) : undefined;
        if (miss && u.targets.length === 0) problems.push(`upstreams[${i}].discovery.dns_srv: no answer for ${srv} (${miss.error}) and no configured targets`);
      });
      if (problems.length > 0) throw new ConfigError(problems);
    } catch (e) {
      drop();
      throw e;
    }
    return {
      effective: { ...next, upstreams: d.expand(next.upstreams) },
      commit: () => {
        if (fresh) current?.stop();
        else d.retain(next.upstreams);
        this.#current = d;
        this.#settingsKey = key;
        this.#running = next;
      },
      abandon: drop,
    };
  }

  /** The running config with the latest answers (for a DNS-triggered swap). */
  expand(config: GatewayConfig): GatewayConfig {
    return this.#current === null ? config : { ...config, upstreams: this.#current.expand(config.upstreams) };
  }

  status(): NameStatus[] {
    return this.#current?.status() ?? [];
  }

  stop(): void {
    this.#current?.stop();
    this.#current = null;
  }

  #create(settings: DiscoveryConfig | undefined): DnsDiscovery {
    // Looked up per round, not held: the first rounds run before the gateway attaches the shared metrics buffer.
    const rounds = () => metricsRegistry().counter("gateway_dns_resolutions_total", "DNS discovery query rounds, by name and result", ["name", "result"]);
    const addresses = () => metricsRegistry().gauge("gateway_dns_addresses", "Addresses (SRV: endpoints) in use per discovered name", ["name"]);
    const client = createDnsClient({ nameservers: settings?.nameservers ?? [], timeout: settings?.timeout ?? 2000 });
    return new DnsDiscovery(client, settings, {
      resolved: (_kind, name, ok, _error, n) => {
        rounds().inc([name, ok ? "success" : "failure"]);
        addresses().set([name], n);
      },
      failing: (kind, name, error, kept) =>
        controlEvent("dns_resolve_failed", "warn", {
          msg: kept > 0 ? "DNS resolution failed; keeping the last good addresses" : "DNS resolution failed; no answer yet (targets stay as configured)",
          kind,
          name,
          error,
          kept,
        }),
      recovered: (kind, name) => controlEvent("dns_resolve_recovered", "info", { msg: "DNS resolution works again", kind, name }),
      changed: (kind, name, added, removed) =>
        controlEvent("dns_targets_changed", "info", { msg: "DNS answer changed; targets updated (removed ones drain)", kind, name, added, removed }),
      onChange: this.onChange,
    });
  }
}
