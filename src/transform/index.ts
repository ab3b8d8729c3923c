/**
 * The transformation engine: templates with per-place encoding, dotted JSON
 * paths and body edits, header and query edits, content codings. It knows no
 * pipeline: the transform policy (src/policies/transform) and the aggregate
 * terminal (src/data/aggregate) adapt requests to its small views.
 */
export * from "./template.ts";
export * from "./json-path.ts";
export * from "./json-edits.ts";
export * from "./fields.ts";
export * from "./codec.ts";
export * from "./route-params.ts";
