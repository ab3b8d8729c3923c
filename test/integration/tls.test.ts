/**
 * `server.tls` end to end: a real gateway process with certificates made by
 * openssl at test time, real TLS clients (node:tls, node:http2, curl) and a
 * plain HTTP/1.1 upstream on loopback that records every request as it came
 * off the wire. SNI picks the certificate, the first is the default, TLS
 * below 1.2 and weak suites are refused, HTTP/2 reaches the upstream as
 * HTTP/1.1, and a reload re-reads the certificate files (a broken one is
 * refused and the running one keeps serving).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { makeCert, type CertFiles } from "../helpers/certs.ts";
import { startGateway, startGatewayAt, type GatewayProcess } from "../helpers/gateway.ts";
import { headerOf } from "../helpers/recording-upstream.ts";
import { until } from "../helpers/wait.ts";
import { rawServer, type RawRequest, type RawServer } from "../proxy/http1/raw-server.ts";

const dir = mkdtempSync(join(tmpdir(), "gw-tls-"));
const BIG = Buffer.alloc(1 << 20, "b");

/**
 * The upstream: plain HTTP/1.1. Default answer: 200 JSON with the request
 * line and the body's size. /api/big 1 MiB; /api/trailers a chunked body
 * with a trailer; /api/stream two chunks 300 ms apart; /api/slow after 400 ms.
 */
function startUpstream(): RawServer {
  return rawServer((req: RawRequest, socket) => {
    const line = req.head.slice(0, req.head.indexOf("\r\n"));
    const path = line.split(" ")[1] ?? "";
    const json = (o: unknown) => {
      const text = JSON.stringify(o);
      return `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    };
    switch (path) {
      case "/api/big":
        socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BIG.length}\r\n\r\n`);
        socket.write(BIG);
        return;
      case "/api/trailers":
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\ntrailer: x-checksum\r\n\r\n5\r\nhello\r\n0\r\nx-checksum: abc\r\n\r\n");
        return;
      case "/api/stream":
        socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n6\r\nfirst\n\r\n");
        setTimeout(() => socket.write("5\r\nlast\n\r\n0\r\n\r\n"), 300);
        return;
      case "/api/slow":
        setTimeout(() => socket.write(json({ line })), 400);
        return;
      default:
        socket.write(json({ line, bytes: req.body.length }));
    }
  });
}

/** What a TLS handshake with the gateway settled on. */
interface Handshake {
  protocol: string | null;
  alpn: string | false | null;
  cipher: string;
  /** The served certificate's subject CN and subjectAltName. */
  cn: string;
  san: string;
}

function handshake(port: number, opts: tls.ConnectionOptions = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false, ...opts }, () => {
      const peer = socket.getPeerCertificate();
      resolve({ protocol: socket.getProtocol(), alpn: socket.alpnProtocol, cipher: socket.getCipher().name, cn: String(peer.subject?.CN), san: String(peer.subjectaltname) });
      socket.end();
    });
    socket.once("error", reject);
  });
}

interface H2Answer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders | null;
  /** ms from the response head to each data chunk. */
  chunkTimes: number[];
}

/** One HTTP/2 request on `session`; `trailers` are sent after the body. */
function h2(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer | string, trailers?: Record<string, string>): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined, waitForTrailers: trailers !== undefined });
    const chunks: Buffer[] = [];
    const chunkTimes: number[] = [];
    let head: http2.IncomingHttpHeaders = {};
    let headAt = 0;
    let tail: http2.IncomingHttpHeaders | null = null;
    stream.on("response", (h) => {
      head = h;
      headAt = performance.now();
    });
    stream.on("data", (d: Buffer) => {
      chunks.push(d);
      chunkTimes.push(performance.now() - headAt);
    });
    stream.on("trailers", (t) => (tail = t));
    stream.on("end", () => resolve({ status: Number(head[":status"]), headers: head, body: Buffer.concat(chunks), trailers: tail, chunkTimes }));
    stream.on("error", reject);
    if (trailers !== undefined) stream.on("wantTrailers", () => stream.sendTrailers(trailers));
    if (body !== undefined) stream.end(body);
  });
}

function connectH2(port: number, servername = "api.test"): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername, rejectUnauthorized: false });
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

/** The upstream's record of the one request whose request line starts with `start`. */
function recorded(up: RawServer, start: string): RawRequest {
  const found = up.requests.filter((r) => r.head.startsWith(start));
  expect(found).toHaveLength(1);
  return found[0]!;
}

let defaultCert: CertFiles;
let apiCert: CertFiles;
let appsCert: CertFiles;

beforeAll(() => {
  defaultCert = makeCert(dir, "default", ["default.test"]);
  apiCert = makeCert(dir, "api", ["api.test"]);
  appsCert = makeCert(dir, "apps", ["*.apps.test"]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("one listener, three certificates, HSTS", () => {
  let up: RawServer;
  let gw: GatewayProcess;

  beforeAll(async () => {
    up = startUpstream();
    gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
max_body_size = "2MB"
tls = [
  { cert = "${defaultCert.cert}", key = "${defaultCert.key}" },
  { cert = "${apiCert.cert}", key = "${apiCert.key}", hosts = ["api.test"] },
  { cert = "${appsCert.cert}", key = "${appsCert.key}", hosts = ["*.apps.test"] },
]
hsts = { max_age = "1d", include_subdomains = true }

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "u"

[[routes]]
name = "live"
path = "/live"
upstream = "u"
websocket = true
`);
  });
  afterAll(async () => {
    await gw?.stop();
    up?.stop();
  });

  describe("SNI", () => {
    test("each listed name gets its certificate: exact, case-insensitive, one label under a wildcard", async () => {
      expect(await handshake(gw.port, { servername: "api.test" })).toMatchObject({ cn: "api.test", san: "DNS:api.test" });
      expect(await handshake(gw.port, { servername: "API.Test" })).toMatchObject({ cn: "api.test" });
      expect(await handshake(gw.port, { servername: "x.apps.test" })).toMatchObject({ cn: "*.apps.test", san: "DNS:*.apps.test" });
    });

    test("no SNI (an IP address), an unlisted name, or a name a wildcard does not cover: the first certificate", async () => {
      // node:tls sends no SNI when connecting to an IP address without servername.
      expect(await handshake(gw.port)).toMatchObject({ cn: "default.test", san: "DNS:default.test" });
      expect(await handshake(gw.port, { servername: "unknown.test" })).toMatchObject({ cn: "default.test" });
      // "*.apps.test" covers one label only (RFC 6125 §6.4.3), and not the bare domain.
      expect(await handshake(gw.port, { servername: "a.b.apps.test" })).toMatchObject({ cn: "default.test" });
      expect(await handshake(gw.port, { servername: "apps.test" })).toMatchObject({ cn: "default.test" });
    });

    test("curl verifies the certificate SNI chose, over HTTP/2", async () => {
      const url = `https://api.test:${gw.port}/api/curl`;
      const p = Bun.spawn(["curl", "-sS", "--http2", "--cacert", apiCert.cert, "--resolve", `api.test:${gw.port}:127.0.0.1`, "-w", "\n%{http_version} %{response_code}", url], { stdout: "pipe", stderr: "pipe" });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      const [body, version] = out.split("\n");
      expect(version).toBe("2 200");
      expect(JSON.parse(body!)).toEqual({ line: "GET /api/curl HTTP/1.1", bytes: 0 });
    });
  });

  describe("protocol versions and suites", () => {
    test("TLS 1.0 and 1.1 are refused by the gateway, though the client offers them (a TLS 1.0 server accepts it)", async () => {
      const control = tls.createServer({ cert: await Bun.file(apiCert.cert).text(), key: await Bun.file(apiCert.key).text(), minVersion: "TLSv1" }, (s) => s.end());
      await new Promise<void>((r) => control.listen(0, "127.0.0.1", () => r()));
      const controlPort = (control.address() as { port: number }).port;
      try {
        for (const version of ["TLSv1", "TLSv1.1"] as const) {
          const old = { servername: "api.test", minVersion: version, maxVersion: version };
          expect((await handshake(controlPort, old)).protocol).toBe(version);
          // The server's protocol_version alert (RFC 8446 §6.2), not a client-side refusal.
          await expect(handshake(gw.port, old)).rejects.toThrow(/PROTOCOL_VERSION/);
        }
      } finally {
        control.close();
      }
    });

    test("TLS 1.2 and 1.3 are accepted; TLS 1.2 negotiates ECDHE with AEAD", async () => {
      const v12 = await handshake(gw.port, { servername: "api.test", maxVersion: "TLSv1.2" });
      expect(v12.protocol).toBe("TLSv1.2");
      expect(v12.cipher).toMatch(/^ECDHE-ECDSA-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)$/);
      expect((await handshake(gw.port, { servername: "api.test", minVersion: "TLSv1.3" })).protocol).toBe("TLSv1.3");
    });

    test("TLS 1.2 CBC suites are refused (tls_ciphers default)", async () => {
      await expect(handshake(gw.port, { servername: "api.test", maxVersion: "TLSv1.2", ciphers: "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA" })).rejects.toThrow(/HANDSHAKE_FAILURE|NO_SHARED_CIPHER/);
    });
  });

  describe("HTTP/1.1 over TLS", () => {
    test("proxied to the plain HTTP upstream with X-Forwarded-Proto: https; HSTS on the answer", async () => {
      const res = await fetch(`https://127.0.0.1:${gw.port}/api/h1?x=1`, { tls: { rejectUnauthorized: false } });
      expect(res.status).toBe(200);
      expect(res.headers.get("strict-transport-security")).toBe("max-age=86400; includeSubDomains");
      expect(await res.json()).toEqual({ line: "GET /api/h1?x=1 HTTP/1.1", bytes: 0 });
      const head = recorded(up, "GET /api/h1?x=1 ").head;
      expect(headerOf(head, "x-forwarded-proto")).toBe("https");
      expect(headerOf(head, "via")).toBe("1.1 gateway");
    });

    test("the gateway's own answers carry HSTS too (404)", async () => {
      const res = await fetch(`https://127.0.0.1:${gw.port}/nowhere`, { tls: { rejectUnauthorized: false } });
      expect(res.status).toBe(404);
      expect(res.headers.get("strict-transport-security")).toBe("max-age=86400; includeSubDomains");
    });

    test("ALPN: a client offering only http/1.1, or no ALPN at all, gets HTTP/1.1", async () => {
      expect((await handshake(gw.port, { servername: "api.test", ALPNProtocols: ["http/1.1"] })).alpn).toBe("http/1.1");
      expect((await handshake(gw.port, { servername: "api.test", ALPNProtocols: ["h2", "http/1.1"] })).alpn).toBe("h2");
      expect((await handshake(gw.port, { servername: "api.test" })).alpn).toBe(false);
    });
  });

  describe("HTTP/2 from the client, HTTP/1.1 to the upstream", () => {
    let session: http2.ClientHttp2Session;
    beforeAll(async () => {
      session = await connectH2(gw.port);
    });
    afterAll(() => session?.close());

    test("ALPN h2; the upstream gets an HTTP/1.1 request line, X-Forwarded-Proto: https and Via 1.1 (Bun does not show the handler the client's version)", async () => {
      expect(session.alpnProtocol).toBe("h2");
      const r = await h2(session, { ":path": "/api/h2?q=1" });
      expect(r.status).toBe(200);
      expect(r.headers["strict-transport-security"]).toBe("max-age=86400; includeSubDomains");
      expect(r.headers.via).toBe("1.1 gateway");
      expect(JSON.parse(r.body.toString())).toEqual({ line: "GET /api/h2?q=1 HTTP/1.1", bytes: 0 });
      const head = recorded(up, "GET /api/h2?q=1 ").head;
      expect(headerOf(head, "x-forwarded-proto")).toBe("https");
      expect(headerOf(head, "x-forwarded-host")).toBe(`api.test:${gw.port}`);
      // RFC 9110 §7.6.3 wants "2" here; see README "Known limitations".
      expect(headerOf(head, "via")).toBe("1.1 gateway");
      // No HTTP/2 pseudo-header or connection-specific field leaks into the HTTP/1.1 head.
      expect(head).not.toMatch(/\r\n:|\r\n(connection|te|upgrade|http2-settings):/i);
    });

    test("100 concurrent streams on one connection, each answered with its own request", async () => {
      const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => h2(session, { ":path": `/api/many/${i}` })));
      answers.forEach((a, i) => {
        expect(a.status).toBe(200);
        expect(JSON.parse(a.body.toString()).line).toBe(`GET /api/many/${i} HTTP/1.1`);
      });
    });

    test("1 MiB each way: a response body, a request body with content-length", async () => {
      const down = await h2(session, { ":path": "/api/big" });
      expect(down.status).toBe(200);
      expect(down.body.equals(BIG)).toBe(true);
      const upload = Buffer.alloc(1 << 20, "u");
      const r = await h2(session, { ":path": "/api/upload-cl", ":method": "PUT", "content-length": String(upload.length) }, upload);
      expect(JSON.parse(r.body.toString())).toEqual({ line: "PUT /api/upload-cl HTTP/1.1", bytes: upload.length });
      const sent = recorded(up, "PUT /api/upload-cl ");
      expect(headerOf(sent.head, "content-length")).toBe(String(upload.length));
      expect(sent.body.equals(upload)).toBe(true);
    });

    test("regression: a request body without content-length reaches the upstream whole, chunked (was sent as content-length: 0)", async () => {
      const upload = Buffer.alloc(300_000, "n");
      const r = await h2(session, { ":path": "/api/upload-nocl", ":method": "POST" }, upload);
      expect(JSON.parse(r.body.toString())).toEqual({ line: "POST /api/upload-nocl HTTP/1.1", bytes: upload.length });
      const sent = recorded(up, "POST /api/upload-nocl ");
      expect(headerOf(sent.head, "transfer-encoding")).toBe("chunked");
      expect(headerOf(sent.head, "content-length")).toBeNull();
      expect(sent.body.equals(upload)).toBe(true);
    });

    test("a body without content-length over max_body_size: 413", async () => {
      const r = await h2(session, { ":path": "/api/too-big", ":method": "POST" }, Buffer.alloc(3 << 20, "x"));
      expect(r.status).toBe(413);
      expect(JSON.parse(r.body.toString())).toMatchObject({ error: "payload_too_large" });
    });

    test("a streamed response streams: the first chunk arrives before the upstream sends the last", async () => {
      const r = await h2(session, { ":path": "/api/stream" });
      expect(r.body.toString()).toBe("first\nlast\n");
      expect(r.chunkTimes.length).toBeGreaterThanOrEqual(2);
      expect(r.chunkTimes.at(-1)! - r.chunkTimes[0]!).toBeGreaterThan(200);
    });

    test("trailers are not forwarded either way; the bodies are", async () => {
      const down = await h2(session, { ":path": "/api/trailers" });
      expect(down.body.toString()).toBe("hello");
      expect(down.trailers).toBeNull();
      const r = await h2(session, { ":path": "/api/req-trailers", ":method": "POST" }, "abc", { "x-checksum": "1" });
      expect(JSON.parse(r.body.toString())).toEqual({ line: "POST /api/req-trailers HTTP/1.1", bytes: 3 });
      expect(recorded(up, "POST /api/req-trailers ").body.toString()).toBe("abc");
    });

    test("an answer before the request body is read (404) still reaches the client", async () => {
      // Bun ends such a stream with RST_STREAM(NO_ERROR) after the response (RFC 9113 §8.1).
      const r = await h2(session, { ":path": "/nowhere", ":method": "POST", "content-length": "5" }, "hello");
      expect(r.status).toBe(404);
      expect(r.headers["strict-transport-security"]).toBe("max-age=86400; includeSubDomains");
    });

    test("a WebSocket route refuses an HTTP/2 request (no RFC 8441): 426", async () => {
      const r = await h2(session, { ":path": "/live" });
      expect(r.status).toBe(426);
    });
  });
});

describe("certificates on reload", () => {
  const live = join(dir, "reload");
  let up: RawServer;
  let gw: GatewayProcess;
  const config = (extra = "") => `
[server]
listen = "127.0.0.1:0"
tls_min_version = "1.3"
tls = [
  { cert = "live.pem", key = "live-key.pem" },
${extra}]

[[upstreams]]
name = "u"
targets = [{ url = "http://127.0.0.1:${up.port}" }]

[[routes]]
name = "api"
path = "/api/*"
upstream = "u"
`;
  /** Put `c` where the config points (a renewal writing over the files). */
  const install = (c: CertFiles) => {
    copyFileSync(c.cert, join(live, "live.pem"));
    copyFileSync(c.key, join(live, "live-key.pem"));
  };
  const count = (text: string) => gw.stderr().split(text).length - 1;
  /** SIGHUP, then wait for the reload's verdict line. */
  const reload = async (verdict: "config reloaded" | "reload rejected") => {
    const before = count(verdict);
    gw.signal("SIGHUP");
    await until(`"${verdict}" logged`, () => count(verdict) > before);
  };
  /** The `error` of the last reload_refused event on stderr. */
  const refusal = () => {
    const events = gw.stderr().split("\n").filter((l) => l.includes('"reload_refused"')).map((l) => JSON.parse(l) as { error: string });
    return events.at(-1)?.error;
  };
  const served = async (servername = "one.test") => (await handshake(gw.port, { servername })).cn;
  const get = (path: string) => fetch(`https://127.0.0.1:${gw.port}${path}`, { tls: { rejectUnauthorized: false } });

  beforeAll(async () => {
    mkdirSync(live);
    install(makeCert(live, "one", ["one.test"]));
    up = startUpstream();
    const path = join(live, "config.toml");
    writeFileSync(path, config());
    gw = await startGatewayAt(path);
  });
  afterAll(async () => {
    await gw?.stop();
    up?.stop();
  });

  test("tls_min_version = 1.3 refuses TLS 1.2; no HSTS when hsts is not configured", async () => {
    expect((await handshake(gw.port, { minVersion: "TLSv1.3" })).protocol).toBe("TLSv1.3");
    await expect(handshake(gw.port, { maxVersion: "TLSv1.2" })).rejects.toThrow(/PROTOCOL_VERSION/);
    const res = await get("/api/x");
    expect(res.status).toBe(200);
    expect(res.headers.has("strict-transport-security")).toBe(false);
  });

  test("SIGHUP re-reads the files: a renewed certificate is served to new connections; a request in flight finishes", async () => {
    expect(await served()).toBe("one.test");
    const session = await connectH2(gw.port, "one.test");
    const goaway = new Promise<number>((r) => session.once("goaway", r));
    const inFlight = get("/api/slow");
    await Bun.sleep(100);
    install(makeCert(live, "two", ["two.test"]));
    await reload("config reloaded");
    expect(await served()).toBe("two.test");
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ line: "GET /api/slow HTTP/1.1" });
    // The old listener's HTTP/2 connections are told to go (RFC 9113 §6.8), without an error.
    expect(await goaway).toBe(http2.constants.NGHTTP2_NO_ERROR);
    session.close();
  });

  test("a key that does not fit the certificate: reload refused with the key path, the old certificate keeps serving", async () => {
    const stray = String(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" }));
    writeFileSync(join(live, "live-key.pem"), stray);
    await reload("reload rejected");
    expect(refusal()).toStartWith("server.tls[0]: key and cert do not go together (");
    expect(refusal()).toEndWith(`): ${join(live, "live-key.pem")} is not the key of ${join(live, "live.pem")}`);
    expect(await served()).toBe("two.test");
    expect((await get("/api/after-bad-key")).status).toBe(200);
  });

  test("a certificate file that is gone: reload refused naming the file, the old certificate keeps serving", async () => {
    unlinkSync(join(live, "live.pem"));
    await reload("reload rejected");
    expect(refusal()).toBe(`server.tls[0].cert: cannot read file "${join(live, "live.pem")}": no such file or directory`);
    expect(await served()).toBe("two.test");
    expect((await get("/api/after-missing-cert")).status).toBe(200);
  });

  test("fixed files and a new SNI entry: the next reload serves both", async () => {
    install(makeCert(live, "three", ["three.test"]));
    makeCert(live, "extra", ["new.test"]);
    gw.writeConfig(config(`  { cert = "extra.pem", key = "extra-key.pem", hosts = ["new.test"] },\n`));
    await reload("config reloaded");
    expect(await served()).toBe("three.test");
    expect(await served("new.test")).toBe("new.test");
    expect((await get("/api/after-fix")).status).toBe(200);
  });
});

test("a config whose certificate files are missing or do not fit refuses to start, naming each entry", async () => {
  const bad = join(dir, "bad");
  mkdirSync(bad);
  const a = makeCert(bad, "a", ["a.test"]);
  const b = makeCert(bad, "b", ["b.test"]);
  const path = join(bad, "config.toml");
  writeFileSync(
    path,
    `[server]
listen = "127.0.0.1:0"
tls = [
  { cert = "a.pem", key = "b-key.pem" },
  { cert = "nope.pem", key = "${b.key}", hosts = ["b.test"] },
]
`,
  );
  const failure = await startGatewayAt(path).then(
    (gw) => gw.stop().then(() => null),
    (e: Error) => e.message,
  );
  expect(failure).toContain(`server.tls[0]: key and cert do not go together`);
  expect(failure).toContain(`${join(bad, "b-key.pem")} is not the key of ${a.cert}`);
  expect(failure).toContain(`server.tls[1].cert: cannot read file "${join(bad, "nope.pem")}": no such file or directory`);
});
