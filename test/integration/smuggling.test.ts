/**
 * Request smuggling corpus (RFC 9112 §6.3, §7.1; RFC 9110 §5.5, §7.2, §8.6):
 * raw bytes over a real socket to the real gateway, with a recording
 * upstream behind it. Every case either
 *  - is refused (400, or 501/505/413 where said) with the connection closed,
 *    and nothing reaches the upstream; or
 *  - is forwarded as exactly one request, framed by the gateway, whose body
 *    the upstream receives byte for byte; then a follow-up request on the
 *    same client connection gets its own answer (no desync either side).
 * "bun" / "gateway" says which layer refuses, as found by experiment on Bun 1.4.5.
 * Smuggled requests are all GET /smuggled; none may ever reach the upstream.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startGateway, type GatewayProcess } from "../helpers/gateway.ts";
import { RawConnection } from "../helpers/raw-client.ts";
import { headerOf, startRecordingUpstream, type RecordingUpstream } from "../helpers/recording-upstream.ts";

const H = "Host: a\r\n";
const P = `POST /p HTTP/1.1\r\n${H}`;
const T = `${P}Transfer-Encoding: chunked\r\n\r\n`;
const S = `GET /smuggled HTTP/1.1\r\n${H}\r\n`;

type Refused = { name: string; wire: string; refused: number | number[]; by: "bun" | "gateway"; error?: string };
type Forwarded = {
  name: string;
  wire: string;
  /** Request line the upstream must see, body it must receive; chunked: re-framed chunked, else Content-Length. */
  forward: { line: string; body?: string; chunked?: boolean };
  head?: boolean;
  /** The client connection stays open for a follow-up (false for HTTP/1.0). */
  keepAlive?: boolean;
};

const refused: Refused[] = [
  // CL.TE / TE.CL (§6.3 rule 3: a server MAY reject; Bun does).
  { name: "CL.TE", wire: `${P}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX${S}`, refused: 400, by: "bun" },
  { name: "TE.CL", wire: `${P}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n1\r\nA\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "CL 0 with TE", wire: `${P}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  // TE.TE obfuscations: anything but a lone final "chunked" (§6.3 rule 4: 400; §6.1: unknown coding 501).
  { name: "TE: xchunked", wire: `${P}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${S}`, refused: [400, 501], by: "bun" },
  { name: "TE: xchunked with CL", wire: `${P}Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd${S}`, refused: 400, by: "bun" },
  { name: "TE: chunked, chunked", wire: `${P}Transfer-Encoding: chunked, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "TE: gzip, chunked", wire: `${P}Transfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, refused: [400, 501], by: "bun" },
  { name: "TE: chunked, gzip (chunked not final)", wire: `${P}Transfer-Encoding: chunked, gzip\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE: identity", wire: `${P}Transfer-Encoding: identity\r\n\r\n${S}`, refused: [400, 501], by: "bun" },
  { name: "TE: \"chunked\" (quoted)", wire: `${P}Transfer-Encoding: "chunked"\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE: chunked;q=1", wire: `${P}Transfer-Encoding: chunked;q=1\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "TE: empty", wire: `${P}Transfer-Encoding: \r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "two TE lines, chunked twice", wire: `${P}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "two TE lines, chunked then x", wire: `${P}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "two TE lines, x then chunked", wire: `${P}Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "Transfer-Encoding : chunked (space before colon, §5.1 MUST 400)", wire: `${P}Transfer-Encoding : chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "Transfer-Encoding\\t: chunked", wire: `${P}Transfer-Encoding\t: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE via obs-fold", wire: `${P}Transfer-Encoding:\r\n chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE x, obs-folded chunked", wire: `${P}Transfer-Encoding: x\r\n chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE with vertical tab", wire: `${P}Transfer-Encoding:\x0bchunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE with form feed", wire: `${P}Transfer-Encoding:\x0cchunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE with NUL", wire: `${P}Transfer-Encoding: chunked\x00\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE name with vertical tab", wire: `${P}Transfer-Encoding\x0b: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE value with bare CR", wire: `${P}Transfer-Encoding: chunked\rX: y\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "TE on HTTP/1.0 (§6.1: MUST treat as faulty)", wire: `POST /p HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  // Content-Length = 1*DIGIT (RFC 9110 §8.6); §6.3 rule 5: invalid → 400 and close.
  { name: "CL: +4", wire: `${P}Content-Length: +4\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL: -4", wire: `${P}Content-Length: -4\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL: 4, 4 (one line)", wire: `${P}Content-Length: 4, 4\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL: 4, 5", wire: `${P}Content-Length: 4, 5\r\n\r\nabcd${S}`, refused: 400, by: "bun" },
  { name: "CL: 0x4", wire: `${P}Content-Length: 0x4\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL: 4.0", wire: `${P}Content-Length: 4.0\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL: 2^64+4 (overflow)", wire: `${P}Content-Length: 18446744073709551620\r\n\r\nabcd${S}`, refused: 400, by: "bun" },
  { name: "CL: 23 digits", wire: `${P}Content-Length: 99999999999999999999999\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL: empty", wire: `${P}Content-Length: \r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "two different CL lines", wire: `${P}Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd${S}`, refused: 400, by: "bun" },
  { name: "Content-Length : 4 (space before colon)", wire: `${P}Content-Length : 4\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "CL via obs-fold", wire: `${P}Content-Length:\r\n 4\r\n\r\nabcd`, refused: 400, by: "bun" },
  { name: "two identical CL lines (§8.6 lets us refuse; one rule for any line count)", wire: `${P}Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd`, refused: 400, by: "gateway", error: "bad_request" },
  // Chunked syntax (§7.1).
  { name: "chunk size not hex", wire: `${T}zz\r\nabc\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "chunk size overflows 64 bits", wire: `${T}10000000000000004\r\nabcd\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "chunk size 0x4", wire: `${T}0x4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "chunk size -4", wire: `${T}-4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "chunk size with trailing space", wire: `${T}4 \r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "bare LF after chunk size", wire: `${T}4\nabcd\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "bare LF after chunk data", wire: `${T}4\r\nabcd\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  { name: "chunk data longer than its size", wire: `${T}4\r\nabcdef\r\n0\r\n\r\n`, refused: 400, by: "bun" },
  { name: "chunk data shorter than its size, smuggle after", wire: `${T}4\r\nab\r\n0\r\n\r\n${S}`, refused: 400, by: "bun" },
  // Line endings and characters (RFC 9112 §2.2, RFC 9110 §5.5). Bun answers bare-LF request lines with 505.
  { name: "bare LF line endings", wire: `GET /x HTTP/1.1\nHost: a\n\n`, refused: [400, 505], by: "bun" },
  { name: "bare LF after one header", wire: `GET /x HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "bare LF, POST with CL", wire: `POST /p HTTP/1.1\nHost: a\nContent-Length: 4\n\nabcd`, refused: [400, 505], by: "bun" },
  { name: "bare CR in a value", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n`, refused: 400, by: "bun" },
  { name: "NUL in a value", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n`, refused: 400, by: "bun" },
  { name: "NUL in a name", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX\x00A: b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "vertical tab in a value", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\x0bc\r\n\r\n`, refused: 400, by: "bun" },
  { name: "form feed in a value", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\x0cc\r\n\r\n`, refused: 400, by: "bun" },
  { name: "space in a header name", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX A: b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "( in a header name", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "\" in a header name", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX"A: b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "empty header name", wire: `GET /x HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "header line without colon", wire: `GET /x HTTP/1.1\r\nHost: a\r\nXA b\r\n\r\n`, refused: 400, by: "bun" },
  { name: "whitespace before the first header (§2.2)", wire: `GET /x HTTP/1.1\r\n Host: a\r\n\r\n`, refused: 400, by: "bun" },
  { name: "obs-fold in any header (§5.2)", wire: `GET /x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n`, refused: 400, by: "bun" },
  // Request line (RFC 9112 §3).
  { name: "two spaces after the method", wire: `GET  /x HTTP/1.1\r\n${H}\r\n`, refused: 400, by: "bun" },
  { name: "space before CRLF of the request line", wire: `GET /x HTTP/1.1 \r\n${H}\r\n`, refused: [400, 505], by: "bun" },
  { name: "space inside the target", wire: `GET /x y HTTP/1.1\r\n${H}\r\n`, refused: [400, 505], by: "bun" },
  { name: "method with @", wire: `G@T /x HTTP/1.1\r\n${H}\r\n`, refused: 400, by: "bun" },
  { name: "method with (", wire: `G(T /x HTTP/1.1\r\n${H}\r\n`, refused: 400, by: "bun" },
  { name: "HTTP/1.2", wire: `GET /x HTTP/1.2\r\n${H}\r\n`, refused: 505, by: "bun" },
  { name: "HTTP/2 preface on an HTTP/1.1 port", wire: `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`, refused: [400, 505], by: "bun" },
  { name: "asterisk-form on GET", wire: `GET * HTTP/1.1\r\n${H}\r\n`, refused: 400, by: "bun" },
  { name: "fragment in the target (§3.2)", wire: `GET /x#frag HTTP/1.1\r\n${H}\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  // Host (RFC 9110 §7.2: missing on 1.1, more than one, or invalid → 400).
  { name: "HTTP/1.1 without Host", wire: `GET /x HTTP/1.1\r\n\r\n`, refused: 400, by: "bun" },
  { name: "two different Host lines", wire: `GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "two identical Host lines", wire: `GET /x HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "empty Host", wire: `GET /x HTTP/1.1\r\nHost: \r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with a space", wire: `GET /x HTTP/1.1\r\nHost: a b\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with userinfo", wire: `GET /x HTTP/1.1\r\nHost: u@a\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with a path", wire: `GET /x HTTP/1.1\r\nHost: a/admin?\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with #", wire: `GET /x HTTP/1.1\r\nHost: a#b\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with a backslash", wire: `GET /x HTTP/1.1\r\nHost: a\\b\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with a comma", wire: `GET /x HTTP/1.1\r\nHost: a,b\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with a non-numeric port", wire: `GET /x HTTP/1.1\r\nHost: a:xx\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "Host with port 99999", wire: `GET /x HTTP/1.1\r\nHost: a:99999\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  // Content Bun consumes but does not hand to the handler: it cannot be forwarded (RFC 9110 §9.3.1, §9.3.2, §9.3.8).
  { name: "GET with a body", wire: `GET /g HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "GET whose body is a request", wire: `GET /g HTTP/1.1\r\n${H}Content-Length: ${S.length}\r\n\r\n${S}`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "GET with a chunked body", wire: `GET /g HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "TRACE with a body", wire: `TRACE /g HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`, refused: 400, by: "gateway", error: "bad_request" },
  { name: "body over max_body_size: 413, closed (rest of the body never read)", wire: `${P}Content-Length: 9000\r\n\r\nabcd`, refused: 413, by: "gateway", error: "payload_too_large" },
  { name: "CONNECT (§9.3.6): 501, no tunnel, no upstream", wire: `CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n`, refused: 501, by: "gateway", error: "not_implemented" },
];

const forwarded: Forwarded[] = [
  { name: "plain GET", wire: `GET /x?q=1 HTTP/1.1\r\n${H}\r\n`, forward: { line: "GET /x?q=1 HTTP/1.1" } },
  { name: "POST with Content-Length", wire: `${P}Content-Length: 4\r\n\r\nabcd`, forward: { line: "POST /p HTTP/1.1", body: "abcd" } },
  { name: "POST whose body is a request", wire: `${P}Content-Length: ${S.length}\r\n\r\n${S}`, forward: { line: "POST /p HTTP/1.1", body: S } },
  { name: "POST chunked", wire: `${T}4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcdefg", chunked: true } },
  { name: "TE: chunked with trailing space", wire: `${P}Transfer-Encoding: chunked \r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "TE: chunked with trailing tab", wire: `${P}Transfer-Encoding: chunked\t\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "TE:  chunked (extra OWS)", wire: `${P}Transfer-Encoding:  chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "TE: ChUnKeD (codings are case-insensitive)", wire: `${P}Transfer-Encoding: ChUnKeD\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "tRaNsFeR-eNcOdInG: chunked", wire: `${P}tRaNsFeR-eNcOdInG: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "TE: ,chunked (empty list element, RFC 9110 §5.6.1)", wire: `${P}Transfer-Encoding: ,chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "XTransfer-Encoding is just a header; CL frames", wire: `${P}XTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\nabcd`, forward: { line: "POST /p HTTP/1.1", body: "abcd" } },
  { name: "CL: 0004 (leading zeros are digits)", wire: `${P}Content-Length: 0004\r\n\r\nabcd`, forward: { line: "POST /p HTTP/1.1", body: "abcd" } },
  { name: "CL with OWS around it", wire: `${P}Content-Length:   4 \r\n\r\nabcd`, forward: { line: "POST /p HTTP/1.1", body: "abcd" } },
  { name: "chunk extensions are dropped", wire: `${T}4;foo=bar\r\nabcd\r\n2;q="a;b"\r\nef\r\n0\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcdef", chunked: true } },
  { name: "chunk size with leading zeros, last chunk 00", wire: `${T}0004\r\nabcd\r\n00\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "last chunk with an extension", wire: `${T}4\r\nabcd\r\n0;x=y\r\n\r\n`, forward: { line: "POST /p HTTP/1.1", body: "abcd", chunked: true } },
  { name: "POST without framing: no content, sent with Content-Length: 0", wire: `${P}\r\n`, forward: { line: "POST /p HTTP/1.1", body: "" } },
  { name: "DELETE with a body", wire: `DELETE /d HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`, forward: { line: "DELETE /d HTTP/1.1", body: "abcd" } },
  { name: "OPTIONS with a body", wire: `OPTIONS /o HTTP/1.1\r\n${H}Content-Length: 4\r\n\r\nabcd`, forward: { line: "OPTIONS /o HTTP/1.1", body: "abcd" } },
  { name: "GET with Content-Length: 0", wire: `GET /g HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`, forward: { line: "GET /g HTTP/1.1" } },
  { name: "HEAD", wire: `HEAD /h HTTP/1.1\r\n${H}\r\n`, forward: { line: "HEAD /h HTTP/1.1" }, head: true },
  { name: "custom method token", wire: `PURGE /x HTTP/1.1\r\n${H}\r\n`, forward: { line: "PURGE /x HTTP/1.1" } },
  { name: "DEL and obs-text in a value (RFC 9110 §5.5: MAY be kept)", wire: `GET /x HTTP/1.1\r\n${H}X-A: b\x7fc\xe9\r\n\r\n`, forward: { line: "GET /x HTTP/1.1" } },
  { name: "Expect: bogus is not forwarded", wire: `${P}Expect: bogus\r\nContent-Length: 4\r\n\r\nabcd`, forward: { line: "POST /p HTTP/1.1", body: "abcd" } },
  { name: "absolute-form whose host differs from Host: origin-form upstream", wire: `GET http://other.example/x HTTP/1.1\r\n${H}\r\n`, forward: { line: "GET /x HTTP/1.1" } },
  { name: "HTTP/1.0 without Host keeps its path", wire: `GET /x HTTP/1.0\r\n\r\n`, forward: { line: "GET /x HTTP/1.1" }, keepAlive: false },
  { name: "Host with IPv6 literal and port", wire: `GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n`, forward: { line: "GET /x HTTP/1.1" } },
];

let up: RecordingUpstream;
let gw: GatewayProcess;

beforeAll(async () => {
  up = startRecordingUpstream();
  gw = await startGateway(`
[server]
listen = "127.0.0.1:0"
workers = 1
access_log = false
max_body_size = "8KB"
drain_timeout = "500ms"

[[upstreams]]
name = "rec"
targets = [{ url = "http://127.0.0.1:${up.port}" }]
timeouts = { connect = "1s", read = "2s" }
retries = 0

[[routes]]
name = "all"
path = "/*"
upstream = "rec"
`);
});

afterAll(async () => {
  await gw?.stop();
  up?.stop();
});

const smuggled = () => up.requests.filter((r) => r.head.includes("smuggled")).length;

describe(`refused, connection closed, nothing forwarded (${refused.length} cases)`, () => {
  for (const c of refused) {
    test(`${c.by}: ${c.name}`, async () => {
      const before = up.requests.length;
      const conn = await RawConnection.open(gw.port);
      conn.write(c.wire);
      const res = await conn.read(2000);
      expect(res).not.toBeNull();
      const allowed = Array.isArray(c.refused) ? c.refused : [c.refused];
      expect(allowed).toContain(res!.status);
      if (c.error) {
        expect(res!.headers["content-type"]).toContain("application/json");
        expect(JSON.parse(res!.body).error).toBe(c.error);
      }
      expect(await conn.waitClosed(1500)).toBe(true);
      // Whatever followed the refused request was never read as a request.
      expect(conn.pending).toBe("");
      await Bun.sleep(20);
      expect(up.requests.length).toBe(before);
    });
  }
});

describe(`forwarded as exactly one request, framed by the gateway (${forwarded.length} cases)`, () => {
  for (const c of forwarded) {
    test(c.name, async () => {
      const before = up.requests.length;
      const conn = await RawConnection.open(gw.port);
      conn.write(c.wire);
      const res = await conn.read(2000, { head: c.head });
      expect(res?.status).toBe(200);
      await Bun.sleep(20);
      const got = up.requests.slice(before);
      expect(got.length).toBe(1);
      const head = got[0]!.head;
      expect(head.slice(0, head.indexOf("\r\n"))).toBe(c.forward.line);
      const body = c.forward.body ?? "";
      expect(got[0]!.body.toString("latin1")).toBe(body);
      const cl = headerOf(head, "content-length");
      const te = headerOf(head, "transfer-encoding");
      // One framing, ours (RFC 9112 §6.1: a sender MUST NOT send CL with TE).
      if (c.forward.chunked) {
        expect(te).toBe("chunked");
        expect(cl).toBeNull();
      } else {
        expect(te).toBeNull();
        expect(cl).toBe(body.length > 0 || c.forward.line.startsWith("POST") ? String(body.length) : null);
      }
      expect(headerOf(head, "expect")).toBeNull();
      if (!c.head) expect(JSON.parse(res!.body)).toEqual({ line: c.forward.line, body });

      if (c.keepAlive === false) {
        expect(await conn.waitClosed(1500)).toBe(true);
        return;
      }
      // Same client connection, next request: its own answer, from its own upstream request.
      conn.write(`GET /follow HTTP/1.1\r\n${H}\r\n`);
      const next = await conn.read(2000);
      expect(next?.status).toBe(200);
      expect(JSON.parse(next!.body).line).toBe("GET /follow HTTP/1.1");
      expect(up.requests.length).toBe(before + 2);
      conn.close();
    });
  }
});

describe("edge cases of the corpus", () => {
  // Bun 1.4.5 refuses any trailer field with 400, but only after the body has been handed
  // over, so the upstream may already have the request (README, Known limitations). What
  // matters: the trailer frames nothing, is not forwarded, and nothing after it is read.
  const trailers: [string, string, string][] = [
    ["Content-Length in the trailer section", `${T}4\r\nabcd\r\n0\r\nContent-Length: 50\r\n\r\n${S}`, "abcd"],
    ["Transfer-Encoding in the trailer section", `${T}4\r\nabcd\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n${S}`, "abcd"],
    ["a request line where the trailer section is (no final CRLF)", `${T}0\r\n${S}`, ""],
  ];
  for (const [name, wire, body] of trailers) {
    test(`bun: ${name}: 400 and closed; at most the exact body went upstream`, async () => {
      const before = up.requests.length;
      const conn = await RawConnection.open(gw.port);
      conn.write(wire);
      const res = await conn.read(2000);
      expect(res === null || res.status === 400 || res.status === 200).toBe(true);
      expect(await conn.waitClosed(1500)).toBe(true);
      await Bun.sleep(50);
      const got = up.requests.slice(before);
      expect(got.length).toBeLessThanOrEqual(1);
      for (const r of got) {
        expect(r.body.toString()).toBe(body);
        expect(headerOf(r.head, "content-length")).toBeNull();
        expect(headerOf(r.head, "transfer-encoding")).toBe("chunked");
      }
    });
  }

  test("a request pipelined after a complete chunked one is never smuggled through", async () => {
    // Bun answers pipelined requests behind an async handler with a close (README,
    // Known limitations); the point here is only that GET /smuggled never goes upstream.
    const conn = await RawConnection.open(gw.port);
    conn.write(`${T}4\r\nabcd\r\n0\r\n\r\n${S}`);
    await conn.read(1500);
    await conn.waitClosed(1500);
    conn.close();
    await Bun.sleep(100);
    expect(smuggled()).toBe(0);
  });

  test("a body shorter than its Content-Length swallows the next bytes, exactly as declared", async () => {
    const before = up.requests.length;
    const conn = await RawConnection.open(gw.port);
    conn.write(`${P}Content-Length: 10\r\n\r\nabcd`);
    await Bun.sleep(100);
    expect(up.requests.length).toBe(before);
    conn.write(`efghij`);
    const res = await conn.read(2000);
    expect(JSON.parse(res!.body)).toEqual({ line: "POST /p HTTP/1.1", body: "abcdefghij" });
    conn.close();
  });

  test("no smuggled request ever reached the upstream", () => {
    expect(smuggled()).toBe(0);
  });
});
