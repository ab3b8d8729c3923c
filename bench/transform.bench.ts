/**
 * What transformation, version routing and aggregation cost per request, in
 * the handler without sockets (the upstream client answers at once, as the
 * pool does for a small keep-alive response), all in the same run:
 *  - proxy only (the baseline);
 *  - request + response header edits (set, remove, a {header.X} template);
 *  - a 2 KB JSON response body edited (rename, remove, set);
 *  - a 2 KB JSON request body edited (rename, remove, set) on a POST, against
 *    the same POST proxied as is;
 *  - the same body gzip-encoded upstream, decoded, edited, re-encoded;
 *  - a path with three `match` variants, the request taking the last one;
 *  - an aggregate of 3 calls (the fan-out and merge overhead: calls answer at once).
 *
 *   bun bench/transform.bench.ts
 */
import { bench, run, summary } from "mitata";
import { gzipSync } from "node:zlib";
import type { TargetClient, UpstreamResponse } from "../src/client/types.ts";
import { parseConfig } from "../src/config/load.ts";
import { ClientRegistry } from "../src/data/clients.ts";
import { createHandler, type ServeState } from "../src/data/handler.ts";
import { allocateShared } from "../src/data/shared.ts";
import { compileSnapshot } from "../src/data/snapshot.ts";

const doc = {
  userId: 7,
  name: "Ada Lovelace",
  internal: { score: 3, notes: "x".repeat(200) },
  items: Array.from({ length: 28 }, (_, i) => ({ sku: `sku-${i}`, cost: i * 1.5, title: `Item number ${i} with a title` })),
};
const json = new TextEncoder().encode(JSON.stringify(doc));
const gz = gzipSync(json);

function client(bytes: Uint8Array, extra: [string, string][] = []): TargetClient {
  return {
    request: () =>
      Promise.resolve<UpstreamResponse>({
        status: 200,
        statusText: "OK",
        headers: [["server", "nginx"], ["content-type", "application/json"], ["content-length", String(bytes.length)], ...extra],
        body: null,
        bodyBytes: bytes,
        contentLength: bytes.length,
      }),
    close() {},
  };
}

function handlerFor(routes: string, c: TargetClient) {
  const config = parseConfig(
    `[server]\nlisten = "127.0.0.1:0"\naccess_log = false\n[[upstreams]]\nname = "u"\ntargets = [{ url = "http://127.0.0.1:3001" }]\n${routes}`,
    "bench.toml",
  );
  class Canned extends ClientRegistry {
    override get(): TargetClient {
      return c;
    }
  }
  const state: ServeState = { snapshot: compileSnapshot(config, allocateShared(config, null), new Canned()), draining: false, log: null };
  return createHandler(state);
}

console.log(`JSON body: ${json.length} bytes (gzip ${gz.length})`);
const route = (keys: string) => `[[routes]]\nname = "api"\npath = "/api/*"\nupstream = "u"\n${keys}\n`;
const plain = handlerFor(route(""), client(json));
const headersOnly = handlerFor(
  route('request = { headers = { set = { "x-env" = "prod", "x-tenant" = "{header.x-tenant}" }, remove = ["x-debug"] } }\nresponse = { headers = { remove = ["server"], set = { "x-v" = "2" } } }'),
  client(json),
);
const BODY = 'response = { body = { rename = { userId = "id", "items[*].sku" = "code" }, remove = ["internal", "items[*].cost"], set = { v = 2 } } }';
const body = handlerFor(route(BODY), client(json));
const bodyGzip = handlerFor(route(BODY), client(gz, [["content-encoding", "gzip"]]));
const match = handlerFor(
  `${route('match = { headers = { "x-api-version" = "3" } }')}${route('match = { headers = { "x-api-version" = "2", "x-canary" = true } }').replace('"api"', '"api2"')}${route("").replace('"api"', '"api3"')}`,
  client(json),
);
const small = new TextEncoder().encode('{"id":1,"name":"x"}');
const requestBody = handlerFor(route(BODY.replace("response = ", "request = ")), client(small));
const aggregate = handlerFor(
  `[[routes]]\nname = "dash"\npath = "/api/:user"\nupstream = "u"\n${["a", "b", "c"].map((n) => `[[routes.aggregate]]\npath = "/${n}/{user}"\nas = "${n}"\n`).join("")}`,
  client(small),
);

const server = { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 40000 }) } as never;
const headers = { host: "127.0.0.1:8080", "user-agent": "wrk/4.2", accept: "*/*", "x-tenant": "acme", "accept-encoding": "gzip" };
const call = (h: ReturnType<typeof handlerFor>) => async () => {
  const res = await h(new Request("http://127.0.0.1:8080/api/bench", { headers }), server);
  await res!.arrayBuffer();
};

const post = (h: ReturnType<typeof handlerFor>) => async () => {
  const res = await h(new Request("http://127.0.0.1:8080/api/bench", { method: "POST", body: json, headers: { ...headers, "content-type": "application/json", "content-length": String(json.length) } }), server);
  await res!.arrayBuffer();
};
const plainPost = handlerFor(route(""), client(small));

summary(() => {
  bench("proxy only", call(plain));
  bench("POST 2 KB JSON, proxied as is", post(plainPost));
  bench("POST 2 KB JSON request body edited", post(requestBody));
  bench("header edits (request + response)", call(headersOnly));
  bench("2 KB JSON response body edited", call(body));
  bench("2 KB JSON body, gzip upstream, re-encoded", call(bodyGzip));
  bench("match: 3 variants, last one taken", call(match));
  bench("aggregate of 3 calls (overhead)", call(aggregate));
});
await run();
