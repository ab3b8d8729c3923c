/**
 * An allow/deny decision over CIDR sets (the engine of the ip-filter
 * policy). Deny wins over allow; an empty allow list admits every address
 * not denied; a non-empty one admits only its members. An address that does
 * not parse (a Unix socket peer) is admitted only when no allow list exists
 * and denied otherwise: an allow list is a promise that nothing else gets in.
 */
import { compileCidrs, type CidrSet } from "../util/cidr.ts";

export interface IpRule {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export class IpFilter {
  private readonly allow: CidrSet | null;
  private readonly deny: CidrSet | null;

  constructor(rule: IpRule) {
    this.allow = rule.allow.length > 0 ? compileCidrs(rule.allow) : null;
    this.deny = rule.deny.length > 0 ? compileCidrs(rule.deny) : null;
  }

  admits(ip: string): boolean {
    if (this.deny !== null && this.deny.has(ip)) return false;
    return this.allow === null || this.allow.has(ip);
  }
}
