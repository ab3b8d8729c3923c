import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, parse, problemsOf, withUpstream } from "./helpers.ts";

describe("server.listen and admin.listen", () => {
  test.each([
    ["0.0.0.0:8080", "0.0.0.0", 8080],
    ["127.0.0.1:0", "127.0.0.1", 0],
    ["localhost:65535", "localhost", 65535],
    ["gateway.internal:80", "gateway.internal", 80],
    ["[::1]:8080", "::1", 8080],
    ["[::]:443", "::", 443],
    ["[fe80::1%eth0]:8080", "fe80::1%eth0", 8080],
  ])("%p → host %p port %p", (listen, host, port) => {
    const config = parse(`[server]\nlisten = "${listen}"`);
    expect(config.server).toMatchObject({ listen, host, port });
  });

  test.each([
    ["8080", 'server.listen: expected "host:port", e.g. "0.0.0.0:8080" or "[::1]:8080", got "8080"'],
    [":8080", 'server.listen: expected "host:port", e.g. "0.0.0.0:8080" or "[::1]:8080", got ":8080"'],
    ["[::1]8080", 'server.listen: expected "host:port", e.g. "0.0.0.0:8080" or "[::1]:8080", got "[::1]8080"'],
    ["::1:8080", 'server.listen: IPv6 addresses need brackets, e.g. "[::1]:8080"'],
    ["[nope]:8080", 'server.listen: invalid IPv6 address "nope"'],
    ["0.0.0.0:65536", 'server.listen: invalid port "65536" (expected 0-65535)'],
    ["0.0.0.0:-1", 'server.listen: invalid port "-1" (expected 0-65535)'],
    ["0.0.0.0:http", 'server.listen: invalid port "http" (expected 0-65535)'],
    ["0.0.0.0:", 'server.listen: invalid port "" (expected 0-65535)'],
    ["300.1.1.1:80", 'server.listen: invalid host "300.1.1.1"'],
    ["bad host:80", 'server.listen: invalid host "bad host"'],
  ])("%p is refused", (listen, message) => {
    expect(problemsOf(`[server]\nlisten = "${listen}"`)).toEqual([message]);
  });

  test("admin.listen is checked the same way and must differ from server.listen", () => {
    expect(problemsOf('[admin]\nlisten = "127.0.0.1:99999"\ntoken = "t"')).toEqual([
      'admin.listen: invalid port "99999" (expected 0-65535)',
    ]);
    expect(problemsOf('[server]\nlisten = "127.0.0.1:8080"\n[admin]\nlisten = "127.0.0.1:8080"\ntoken = "t"')).toEqual([
      "admin.listen: same address as server.listen (127.0.0.1:8080)",
    ]);
    // Port 0 picks a free port each time: no clash.
    expect(parse('[server]\nlisten = "127.0.0.1:0"\n[admin]\nlisten = "127.0.0.1:0"\ntoken = "t"').admin!.port).toBe(0);
  });

  test("admin.token must not be empty", () => {
    expect(problemsOf('[admin]\ntoken = ""')).toEqual(["admin.token: expected a non-empty string"]);
    expect(problemsOf('[admin]\ntoken = "${TOKEN:-}"')).toEqual(["admin.token: expected a non-empty string"]);
  });
});

describe("server fields", () => {
  test("trusted_proxies entries must be IPs or CIDRs", () => {
    expect(problemsOf('[server]\ntrusted_proxies = ["10.0.0.0/8", "10.0.0.0/33", "proxy.local", "::1/129"]')).toEqual([
      'server.trusted_proxies[1]: invalid CIDR "10.0.0.0/33"',
      'server.trusted_proxies[2]: invalid IP address or CIDR "proxy.local"',
      'server.trusted_proxies[3]: invalid CIDR "::1/129"',
    ]);
  });

  test("tls files must exist, relative to the config file", () => {
    expect(problemsOf('[server]\ntls = { cert = "missing-cert.pem", key = "." }')).toEqual([
      `server.tls.cert: cannot read file "${join(FIXTURES, "missing-cert.pem")}": no such file or directory`,
      `server.tls.key: cannot read file "${FIXTURES}": not a regular file`,
    ]);
  });

  test("tls needs both cert and key", () => {
    expect(problemsOf('[server]\ntls = { cert = "tls-cert.pem" }')).toEqual(["server.tls.key: required key missing"]);
  });

  test("absolute tls paths are kept", () => {
    const cert = join(FIXTURES, "tls-cert.pem");
    const key = join(FIXTURES, "tls-key.pem");
    expect(parse(`[server]\ntls = { cert = "${cert}", key = "${key}" }`).server.tls).toEqual([{ cert, key, hosts: [] }]);
  });

  test("idle_timeout is at most 255s (Bun's limit)", () => {
    expect(parse('[server]\nidle_timeout = "255s"').server.idle_timeout).toBe(255_000);
    expect(problemsOf('[server]\nidle_timeout = "256s"')).toEqual(['server.idle_timeout: must be at most "255s" (Bun\'s limit)']);
  });

  test("health_path starts with / or is empty to disable", () => {
    expect(parse('[server]\nhealth_path = ""').server.health_path).toBe("");
    expect(problemsOf('[server]\nhealth_path = "health"')).toEqual([
      'server.health_path: must start with "/" (or be "" to disable it)',
    ]);
  });

  test("request_id_header is a header name, lower-cased", () => {
    expect(parse('[server]\nrequest_id_header = "X-Trace-Id"').server.request_id_header).toBe("x-trace-id");
    expect(problemsOf('[server]\nrequest_id_header = "X Trace"')).toEqual([
      'server.request_id_header: invalid header name "X Trace"',
    ]);
  });
});

describe("[redis]", () => {
  test.each([
    "redis://127.0.0.1:6379",
    "rediss://cache.internal:6380",
    "redis://:secret@h:6379/3",
    "redis://localhost",
    "redis+sentinel://127.0.0.1:26379/mymaster",
    "redis+sentinel://:secret@s1:26379,s2:26380,[::1]:26381/mymaster/2",
    "redis+sentinel://s1/mymaster",
    "redis+cluster://127.0.0.1:7000",
    "redis+cluster://user:p%40ss@n1:7000,n2:7001,n3",
  ])(
    "%p is accepted",
    (url) => {
      expect(parse(`[redis]\nurl = "${url}"`).redis!.url).toBe(url);
    },
  );

  test.each([
    ["http://127.0.0.1:6379", 'redis.url: expected a URL starting with redis://, rediss://, redis+sentinel:// or redis+cluster://, got "http://127.0.0.1:6379"'],
    ["redis+unix://h:1", 'redis.url: expected a URL starting with redis://, rediss://, redis+sentinel:// or redis+cluster://, got "redis+unix://h:1"'],
    ["127.0.0.1:6379", 'redis.url: invalid URL "127.0.0.1:6379" (expected redis://, rediss://, redis+sentinel:// or redis+cluster://)'],
    ["not a url", 'redis.url: invalid URL "not a url" (expected redis://, rediss://, redis+sentinel:// or redis+cluster://)'],
    ["redis://", 'redis.url: missing host in "redis://"'],
    [
      "redis+sentinel://h:26379",
      'redis.url: redis+sentinel:// needs a master name: redis+sentinel://host:port[,host:port...]/<master>[/db], got "redis+sentinel://h:26379"',
    ],
    [
      "redis+sentinel://h:26379/",
      'redis.url: redis+sentinel:// needs a master name: redis+sentinel://host:port[,host:port...]/<master>[/db], got "redis+sentinel://h:26379/"',
    ],
    ["redis+sentinel://h:26379/m/x", 'redis.url: redis+sentinel:// db must be a whole number after the master name, got "redis+sentinel://h:26379/m/x"'],
    ["redis+sentinel://h:26379/m/1/2", 'redis.url: redis+sentinel:// db must be a whole number after the master name, got "redis+sentinel://h:26379/m/1/2"'],
    ["redis+sentinel://h1:1,,h2:2/m", 'redis.url: bad host:port "" in "redis+sentinel://h1:1,,h2:2/m"'],
    ["redis+sentinel:///m", 'redis.url: bad host:port "" in "redis+sentinel:///m"'],
    ["redis+cluster://", 'redis.url: bad host:port "" in "redis+cluster://"'],
    ["redis+cluster://h:0", 'redis.url: bad host:port "h:0" in "redis+cluster://h:0"'],
    ["redis+cluster://h:65536", 'redis.url: bad host:port "h:65536" in "redis+cluster://h:65536"'],
    ["redis+cluster://h:x", 'redis.url: bad host:port "h:x" in "redis+cluster://h:x"'],
    ["redis+cluster://h:", 'redis.url: bad host:port "h:" in "redis+cluster://h:"'],
    ["redis+cluster://::1:7000", 'redis.url: bad host:port "::1:7000" in "redis+cluster://::1:7000"'],
    ["redis+cluster://[::1:7000", 'redis.url: bad host:port "[::1:7000" in "redis+cluster://[::1:7000"'],
    ["redis+cluster://h:7000/0", 'redis.url: redis+cluster:// takes no path (Redis Cluster has only db 0), got "redis+cluster://h:7000/0"'],
  ])("%p is refused", (url, message) => {
    expect(problemsOf(`[redis]\nurl = "${url}"`)).toEqual([message]);
  });

  test("intervals must be positive", () => {
    expect(problemsOf('[redis]\nurl = "redis://h"\nsync_interval = "0ms"\ncommand_timeout = "0s"')).toEqual([
      "redis.sync_interval: must be greater than 0",
      "redis.command_timeout: must be greater than 0",
    ]);
  });
});

test("[rate_limit] and [server] values normalize", () => {
  const config = parse(
    withUpstream('[rate_limit]\nslots = 100\nlegacy_headers = false\n[server]\nmax_header_size = "8KiB"\nmax_url_length = "2KB"'),
  );
  expect(config.rate_limit).toEqual({ slots: 100, legacy_headers: false });
  expect(config.server.max_header_size).toBe(8192);
  expect(config.server.max_url_length).toBe(2048);
});

test("URL messages never echo credentials", () => {
  expect(problemsOf('[redis]\nurl = "http://user:hunter2@h:6379"')).toEqual([
    'redis.url: expected a URL starting with redis://, rediss://, redis+sentinel:// or redis+cluster://, got "http://***@h:6379"',
  ]);
  // A password holding "/" or "@" is still hidden whole.
  expect(problemsOf('[redis]\nurl = "redis+cluster://:hun/ter@2@h:7000/0"')).toEqual([
    'redis.url: redis+cluster:// takes no path (Redis Cluster has only db 0), got "redis+cluster://***@h:7000/0"',
  ]);
  expect(problemsOf('[redis]\nurl = "redis+sentinel://u:hunter2@h:x/m"')).toEqual(['redis.url: bad host:port "h:x" in "redis+sentinel://***@h:x/m"']);
  expect(problemsOf('[redis]\nurl = "redis+sentinel://u:%zz-hunter2@h/m"')).toEqual([
    'redis.url: bad percent-encoding in the credentials of "redis+sentinel://***@h/m"',
  ]);
});
