/**
 * X-Request-ID: keep the client's when it is a sane token (so a trace id
 * survives the hop), otherwise make one. Sane = 1-200 visible ASCII chars
 * without quotes or backslashes, so it is safe in headers, JSON and logs.
 */
export function acceptRequestId(inbound: string | null): string {
  if (inbound !== null && inbound.length > 0 && inbound.length <= 200) {
    let ok = true;
    for (let i = 0; i < inbound.length; i++) {
      const c = inbound.charCodeAt(i);
      if (c < 33 || c > 126 || c === 34 || c === 92) {
        ok = false;
        break;
      }
    }
    if (ok) return inbound;
  }
  return crypto.randomUUID();
}
