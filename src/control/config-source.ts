/**
 * The running config's origin: the file's parsed TOML as last (re)loaded,
 * plus the admin API's runtime state merged into it. A runtime change
 * re-validates the file's document as it was loaded (not whatever is on disk
 * now: an edited but not yet reloaded file stays unapplied until SIGHUP or
 * POST /reload), with the new state, through the full validation of
 * validateConfig, so a runtime consumer is checked exactly like a file one.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { validateConfig } from "../config/load.ts";
import { describeFsError } from "../config/normalize-common.ts";
import { parseToml } from "../config/toml.ts";
import type { GatewayConfig } from "../config/types.ts";
import { ConfigError } from "../errors.ts";
import { mergeRuntimeState, type RuntimeState } from "./runtime-state.ts";

export interface LoadedConfig {
  config: GatewayConfig;
  /** The file's tables, before the runtime state was merged in. */
  raw: Record<string, unknown>;
  text: string;
  /** SHA-256 (hex) of the file's bytes followed by the runtime state's JSON: changes whenever what runs changes. */
  hash: string;
  /** Runtime consumers the file overrides (config wins). */
  shadowed: string[];
}

export async function readConfigFile(path: string): Promise<{ raw: Record<string, unknown>; text: string }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw new ConfigError([`cannot read config file "${path}": ${describeFsError(e)}`]);
  }
  return { raw: parseToml(text, path), text };
}

/** Validate `raw` (the file) with `state` merged in. Throws ConfigError. */
export function buildConfig(raw: Record<string, unknown>, text: string, state: RuntimeState, path: string): LoadedConfig {
  const merged = mergeRuntimeState(raw, state);
  const config = validateConfig(merged.raw, path);
  const hash = createHash("sha256").update(text).update("\0").update(JSON.stringify(state)).digest("hex");
  return { config, raw, text, hash, shadowed: merged.shadowed };
}
