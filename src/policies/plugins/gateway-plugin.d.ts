// Types for gateway plugins, written by `gateway plugin init` (regenerate with
// it after upgrading the gateway). Reference it from a plugin file with
//   /// <reference path="./gateway-plugin.d.ts" />
// and an editor type-checks the plugin with no package install. At run time
// the gateway binary itself provides the "gateway:plugin" module.

declare module "gateway:plugin" {
  // ---- Config schemas: the part of TypeBox plugins need (the binary's Type is the full TypeBox) ----

  export interface TSchema {
    readonly [key: string]: unknown;
    /** Type-level only: the value the schema accepts. */
    readonly static?: unknown;
  }
  export interface TOptional<T extends TSchema> extends TSchema {
    readonly optional: true;
    readonly static?: Static<T>;
  }
  export interface TString extends TSchema { readonly static?: string }
  export interface TNumber extends TSchema { readonly static?: number }
  export interface TBoolean extends TSchema { readonly static?: boolean }
  export interface TNull extends TSchema { readonly static?: null }
  export interface TLiteral<V extends string | number | boolean> extends TSchema { readonly static?: V }
  export interface TArray<T extends TSchema> extends TSchema { readonly static?: Static<T>[] }
  export interface TUnion<T extends TSchema[]> extends TSchema { readonly static?: Static<T[number]> }
  export interface TRecord<V extends TSchema> extends TSchema { readonly static?: Record<string, Static<V>> }
  export type TProperties = Record<string, TSchema>;
  type OptionalKeys<P extends TProperties> = { [K in keyof P]: P[K] extends TOptional<TSchema> ? K : never }[keyof P];
  type RequiredKeys<P extends TProperties> = Exclude<keyof P, OptionalKeys<P>>;
  type Flat<T> = { [K in keyof T]: T[K] };
  export interface TObject<P extends TProperties> extends TSchema {
    readonly static?: Flat<{ [K in RequiredKeys<P>]: Static<P[K]> } & { [K in OptionalKeys<P>]?: Static<P[K]> }>;
  }
  /** The value a schema accepts. */
  export type Static<T extends TSchema> = T extends TOptional<infer U> ? Static<U> : NonNullable<T["static"]>;

  /** JSON Schema keywords the gateway checks (others are annotations). */
  export interface SchemaOptions {
    description?: string;
    default?: unknown;
    [keyword: string]: unknown;
  }
  export interface StringOptions extends SchemaOptions { minLength?: number; maxLength?: number; pattern?: string }
  export interface NumberOptions extends SchemaOptions { minimum?: number; maximum?: number }
  export interface ArrayOptions extends SchemaOptions { minItems?: number; maxItems?: number }
  export interface ObjectOptions extends SchemaOptions { additionalProperties?: boolean | TSchema }

  export const Type: {
    Object<P extends TProperties>(properties: P, options?: ObjectOptions): TObject<P>;
    String(options?: StringOptions): TString;
    Number(options?: NumberOptions): TNumber;
    Integer(options?: NumberOptions): TNumber;
    Boolean(options?: SchemaOptions): TBoolean;
    Null(options?: SchemaOptions): TNull;
    Literal<V extends string | number | boolean>(value: V, options?: SchemaOptions): TLiteral<V>;
    Array<T extends TSchema>(items: T, options?: ArrayOptions): TArray<T>;
    Union<T extends TSchema[]>(schemas: [...T], options?: SchemaOptions): TUnion<T>;
    Record<V extends TSchema>(key: TString, value: V, options?: SchemaOptions): TRecord<V>;
    Optional<T extends TSchema>(schema: T): TOptional<T>;
  };

  // ---- What hooks get ----

  /** Who the caller is, once an auth policy said so (frozen). */
  export interface Identity {
    readonly via: "jwt" | "api_key";
    readonly consumer: string | null;
    readonly subject: string | null;
    readonly roles: readonly string[];
    readonly scopes: readonly string[];
    readonly claims: Readonly<Record<string, unknown>> | null;
  }

  /** The request as a plugin sees it: read-only, the same object in every hook of one request. */
  export interface PluginContext {
    /** The client's request. Reading its body consumes it: to change what goes upstream use onUpstreamRequest's draft. */
    readonly request: Request;
    readonly requestId: string;
    /** The matched route's name. */
    readonly route: string | null;
    readonly params: Readonly<Record<string, string>>;
    readonly clientIp: string;
    readonly identity: Identity | null;
  }

  /** The outgoing request of one upstream try. */
  export interface UpstreamDraft {
    /** Raw path, percent-encoded, starting with "/". */
    path: string;
    /** Raw query with its "?", or "". */
    query: string;
    getHeader(name: string): string | null;
    /** Replace a header; a value with CR, LF or NUL is refused with 400. */
    setHeader(name: string, value: string): void;
    appendHeader(name: string, value: string): void;
    removeHeader(name: string): void;
    /** Bytes (set them, or null, to replace the body), a stream, or null. */
    body: Uint8Array | ReadableStream<Uint8Array> | null;
  }

  /** The error a failed request carries (as its JSON answer says: error = kind). */
  export interface PluginError {
    readonly kind: string;
    readonly status: number;
    readonly message: string;
    readonly source: "client" | "upstream" | "internal";
    readonly retryable: boolean;
  }

  /** One access-log line; add your own fields. */
  export interface AccessEntry {
    request_id: string;
    method: string;
    path: string;
    status: number;
    duration_ms: number;
    client_ip: string;
    route: string | null;
    target: string | null;
    tries: number;
    error?: string;
    [field: string]: unknown;
  }

  // ---- What create() gets ----

  export interface PluginLogger {
    info(msg: string, fields?: Record<string, unknown>): void;
    warn(msg: string, fields?: Record<string, unknown>): void;
    error(msg: string, fields?: Record<string, unknown>): void;
  }
  export interface PluginCounter {
    inc(labelValues?: readonly string[], by?: number): void;
    labels(labelValues?: readonly string[]): { inc(by?: number): void };
  }
  export interface PluginGauge {
    set(labelValues: readonly string[] | undefined, v: number): void;
    inc(labelValues?: readonly string[], by?: number): void;
    labels(labelValues?: readonly string[]): { set(v: number): void; inc(by?: number): void };
  }
  export interface PluginHistogram {
    observe(labelValues: readonly string[] | undefined, seconds: number): void;
    labels(labelValues?: readonly string[]): { observe(seconds: number): void };
  }
  /** The gateway's metrics registry: your series appear on /metrics, summed over workers. */
  export interface PluginMetrics {
    counter(name: string, help: string, labelNames?: readonly string[]): PluginCounter;
    gauge(name: string, help: string, labelNames?: readonly string[]): PluginGauge;
    histogram(name: string, help: string, labelNames?: readonly string[], buckets?: readonly number[]): PluginHistogram;
  }
  export interface PluginApi {
    readonly logger: PluginLogger;
    /** Wall clock (ms since epoch) and a monotonic one (ms). */
    readonly clock: { now(): number; monotonic(): number };
    readonly metrics: PluginMetrics;
    /** The gateway's JSON error `{ error, message, request_id }` with `status`. */
    reject(ctx: PluginContext, status: number, error: string, message: string): Response;
  }

  type Maybe<T> = T | undefined | void | null;
  /** Every hook is optional; a hook you leave out costs nothing. */
  export interface PluginHooks {
    /** Before the upstream call, in recipe order: return a Response to answer now. May be async (bounded by the timeout). */
    onRequest?(ctx: PluginContext): Maybe<Response> | Promise<Maybe<Response>>;
    /** Before each upstream try: edit the outgoing request. May be async. */
    onUpstreamRequest?(ctx: PluginContext, draft: UpstreamDraft): unknown;
    /** On the way back, in reverse order: edit res.headers or return a replacement. May be async. */
    onResponse?(ctx: PluginContext, res: Response, body: Uint8Array | null): Maybe<Response> | Promise<Maybe<Response>>;
    /** The request failed (upstream down, timeout, a hook threw): return a Response to answer instead. Synchronous. */
    onError?(ctx: PluginContext, error: PluginError): Maybe<Response>;
    /** Last, for every request the plugin saw. Synchronous. */
    onLog?(ctx: PluginContext, entry: AccessEntry): void;
    /** This instance is retired (reload, stop): release timers and sockets. */
    dispose?(): void;
  }

  /** Recipe entries a plugin can run after (default "plugins": after limits, before request transformation). */
  export type Slot = "ip_filter" | "cors" | "compression" | "auth" | "rate_limit" | "cache" | "idempotency" | "plugins" | "credentials" | "strip_prefix" | "transform" | (string & {});

  export interface PluginDefinition<Config = any> {
    readonly name: string;
    readonly schema?: TSchema;
    readonly after?: Slot;
    create(config: Config, api: PluginApi): PluginHooks | null | undefined | void;
  }

  /** Identity at run time; types `config` from `schema`. */
  export function definePlugin<S extends TSchema>(definition: {
    readonly name: string;
    readonly schema: S;
    readonly after?: Slot;
    create(config: Static<S>, api: PluginApi): PluginHooks | null | undefined | void;
  }): PluginDefinition<Static<S>>;
  export function definePlugin(definition: PluginDefinition<Record<string, unknown>>): PluginDefinition<Record<string, unknown>>;

  /** The gateway's version. */
  export const version: string;
}
