/**
 * HTTP-date (RFC 9110 §5.6.7): IMF-fixdate, and the obsolete RFC 850 and
 * asctime forms a recipient must accept. Anything else is invalid (NaN):
 * RFC 9111 §4.2.1 and §5.3 make an invalid Expires mean "already expired".
 */

const MONTHS: Record<string, number> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
const IMF = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
// RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
const RFC850 = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
// asctime: Sun Nov  6 08:49:37 1994
const ASCTIME = /^[A-Za-z]{3} ([A-Za-z]{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function build(year: number, mon: string, day: number, h: number, m: number, s: number): number {
  const month = MONTHS[mon.toLowerCase()];
  if (month === undefined || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return NaN;
  return Date.UTC(year, month, day, h, m, s);
}

/** Milliseconds since the epoch, or NaN for a value that is not an HTTP-date. */
export function parseHttpDate(value: string | null): number {
  if (value === null) return NaN;
  const v = value.trim();
  let m = IMF.exec(v);
  if (m) return build(+m[3]!, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  m = RFC850.exec(v);
  if (m) {
    // Two-digit years: more than 50 years in the future means the past century (RFC 9110 §5.6.7).
    let year = 2000 + +m[3]!;
    if (year > new Date().getUTCFullYear() + 50) year -= 100;
    return build(year, m[2]!, +m[1]!, +m[4]!, +m[5]!, +m[6]!);
  }
  m = ASCTIME.exec(v);
  if (m) return build(+m[6]!, m[1]!, +m[2]!.trim(), +m[3]!, +m[4]!, +m[5]!);
  return NaN;
}

/** IMF-fixdate of `ms`. */
export function formatHttpDate(ms: number): string {
  return new Date(ms).toUTCString();
}
