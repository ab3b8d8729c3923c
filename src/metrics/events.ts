/**
 * Control-plane events an operator must see: one JSON line on stderr with an
 * `event` field, and a count in gateway_events_total{event} of the shared
 * registry, so an alert can fire on either.
 */
import { metricsRegistry } from "./registry.ts";

export function controlEvent(event: string, level: "info" | "warn" | "error", fields: Record<string, unknown> = {}): void {
  metricsRegistry().counter("gateway_events_total", "Control-plane events logged on stderr, by event", ["event"]).inc([event]);
  console.error(JSON.stringify({ time: new Date().toISOString(), level, event, ...fields }));
}
