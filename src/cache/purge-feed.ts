/**
 * Purges and invalidations reaching every instance of a Redis cache tier.
 * The instance that purges deletes the entries in Redis and in its own
 * arena, then appends `{ k: url | prefix | tag, v }` to the stream
 * `<p>cache:purges` (RedisTier.announce). Every instance's main thread reads
 * that stream here, on a connection of its own (XREAD BLOCK), and applies
 * each announcement to its arena, its own included (harmless: a purge is
 * idempotent).
 *
 * A stream rather than pub/sub so a reader that was disconnected picks up
 * where it stopped: it reads on from the last id it applied. When the
 * stream was trimmed past that id meanwhile (more than ~1000 announcements
 * missed: the stream's first entry is past it and entries were trimmed,
 * XINFO STREAM; checked after each reconnect and after each full batch,
 * i.e. a backlog), some purges are
 * lost to it, and it drops every response in its arena instead (they refill
 * from Redis or the origin). A stream that is gone (Redis lost its data)
 * is read from its start once it is back.
 */
import type { RedisClient } from "../util/redis.ts";
import type { PurgeKind } from "./redis-tier.ts";

const BLOCK_MS = 5000;
const RETRY_MS = 200;
const BATCH = 100;

export interface PurgeFeedOptions {
  apply(kind: PurgeKind, value: string): void;
  /** Announcements may have been missed: drop every response in the arena. */
  clearAll(): void;
  onError?(error: unknown): void;
}

type XReadReply = [string, [string, string[]][]][] | null;

/** Stream ids `ms-seq` in order. */
export function compareIds(a: string, b: string): number {
  const [am = "0", as = "0"] = a.split("-");
  const [bm = "0", bs = "0"] = b.split("-");
  const d = Number(am) - Number(bm);
  return d !== 0 ? Math.sign(d) : Math.sign(Number(as) - Number(bs));
}

export class PurgeFeed {
  /** The id of the last announcement applied; null before the first read. */
  private last: string | null = null;
  private stopped = false;
  private resync = false;
  /** Announcements applied, and arena clears after a gap (for status and tests). */
  applied = 0;
  clears = 0;
  readonly done: Promise<void>;

  constructor(
    /** A connection of its own (util/redis.ts `subscriber: true`: no command timeout), blocked in XREAD. */
    private readonly client: RedisClient,
    private readonly key: string,
    private readonly opts: PurgeFeedOptions,
  ) {
    this.done = this.loop();
  }

  /** Connected and reading. */
  get following(): boolean {
    return this.client.status === "ready" && this.last !== null && !this.resync;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.client.status !== "ready") {
          if (this.last !== null) this.resync = true;
          await this.ready();
          continue;
        }
        if (this.last === null) this.last = await this.tail();
        else if (this.resync) await this.checkGap();
        this.resync = false;
        const before = this.last;
        const reply = (await this.client.xread("COUNT", BATCH, "BLOCK", BLOCK_MS, "STREAMS", this.key, before)) as XReadReply;
        const entries = reply?.[0]?.[1] ?? [];
        for (const [id, fields] of entries) {
          this.applyEntry(fields);
          this.last = id;
        }
        // A full batch means a backlog: it may have grown past what the stream keeps.
        if (entries.length === BATCH) await this.checkGap(before);
      } catch (e) {
        if (this.stopped) return;
        if (this.last !== null) this.resync = true;
        this.opts.onError?.(e);
        await Bun.sleep(RETRY_MS);
      }
    }
  }

  private applyEntry(fields: string[]): void {
    let kind: string | undefined;
    let value: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "k") kind = fields[i + 1];
      else if (fields[i] === "v") value = fields[i + 1];
    }
    if (value === undefined || (kind !== "url" && kind !== "prefix" && kind !== "tag")) return;
    this.applied++;
    this.opts.apply(kind, value);
  }

  /** Where to start: after the newest announcement (older ones were made before this arena's entries). */
  private async tail(): Promise<string> {
    const newest = (await this.client.xrevrange(this.key, "+", "-", "COUNT", 1)) as [string, string[]][];
    return newest[0]?.[0] ?? "0-0";
  }

  /** After a reconnect or a backlog: were announcements after `since` trimmed before we read them? */
  private async checkGap(since: string = this.last!): Promise<void> {
    let info: unknown[];
    try {
      info = (await this.client.call("XINFO", "STREAM", this.key)) as unknown[];
    } catch (e) {
      // No stream (Redis lost its data, or nothing was ever purged): read whatever comes from its start.
      if (e instanceof Error && /no such key/i.test(e.message)) {
        this.last = "0-0";
        return;
      }
      throw e;
    }
    const field = (name: string): unknown => {
      const i = info.indexOf(name);
      return i < 0 ? undefined : info[i + 1];
    };
    const last = since;
    const generated = String(field("last-generated-id") ?? "0-0");
    const firstEntry = field("first-entry") as [string, string[]] | null | undefined;
    const first = firstEntry ? firstEntry[0] : null;
    // Entries trimmed from this stream so far (Redis 7: entries-added); unknown before.
    const added = field("entries-added");
    const trimmed = added === undefined ? Infinity : Number(added) - Number(field("length") ?? 0);
    if (compareIds(generated, last) < 0) {
      // A newer stream than the one we read (Redis restarted empty): all of it is new to us.
      this.last = "0-0";
      if (trimmed > 0) this.clear();
      return;
    }
    // What we read last is still there: every trimmed entry is older.
    if (first !== null && compareIds(first, last) <= 0) return;
    if (trimmed > 0) this.clear();
  }

  private clear(): void {
    this.clears++;
    this.opts.clearAll();
  }

  private ready(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, 1000);
      this.client.once("ready", done);
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.client.disconnect();
    return this.done;
  }
}
