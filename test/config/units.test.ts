import { describe, expect, test } from "bun:test";
import { parseDuration, parseSize } from "../../src/config/units.ts";

function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return "(did not throw)";
}

describe("parseDuration", () => {
  test.each([
    ["0ms", 0],
    ["250ms", 250],
    ["5s", 5000],
    ["1.5s", 1500],
    ["1.1s", 1100],
    ["0.5s", 500],
    ["1.50s", 1500],
    ["1m", 60_000],
    ["1.5m", 90_000],
    ["24h", 86_400_000],
    ["1d", 86_400_000],
    ["30d", 2_592_000_000],
    ["007s", 7000],
  ])("%p → %p ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  const unit = "(expected a number and a unit: ms, s, m, h, d)";
  test.each([
    ["5 s", `invalid duration "5 s" ${unit}`],
    ["5", `invalid duration "5" ${unit}`],
    ["", `invalid duration "" ${unit}`],
    ["-5s", `invalid duration "-5s" ${unit}`],
    ["+5s", `invalid duration "+5s" ${unit}`],
    ["5S", `invalid duration "5S" ${unit}`],
    ["5sec", `invalid duration "5sec" ${unit}`],
    ["1w", `invalid duration "1w" ${unit}`],
    [".5s", `invalid duration ".5s" ${unit}`],
    ["5.s", `invalid duration "5.s" ${unit}`],
    ["1e3ms", `invalid duration "1e3ms" ${unit}`],
    [" 5s", `invalid duration " 5s" ${unit}`],
    ["5s ", `invalid duration "5s " ${unit}`],
    ["1m30s", `invalid duration "1m30s" ${unit}`],
    ["1.5ms", 'invalid duration "1.5ms" (not a whole number of milliseconds)'],
    ["0.0001s", 'invalid duration "0.0001s" (not a whole number of milliseconds)'],
    ["99999999999999999999d", 'invalid duration "99999999999999999999d" (too large)'],
  ])("%p is refused", (text, message) => {
    expect(thrown(() => parseDuration(text))).toBe(message);
  });
});

describe("parseSize", () => {
  test.each([
    ["0B", 0],
    ["512B", 512],
    ["64KB", 65_536],
    ["64KiB", 65_536],
    ["1.5KB", 1536],
    ["10MB", 10_485_760],
    ["10MiB", 10_485_760],
    ["1GB", 1_073_741_824],
    ["1GiB", 1_073_741_824],
  ])("%p → %p bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  const unit = "(expected a number and a unit: B, KB, MB, GB)";
  test.each([
    ["10 MB", `invalid size "10 MB" ${unit}`],
    ["1024", `invalid size "1024" ${unit}`],
    ["10mb", `invalid size "10mb" ${unit}`],
    ["10M", `invalid size "10M" ${unit}`],
    ["1TB", `invalid size "1TB" ${unit}`],
    ["-1KB", `invalid size "-1KB" ${unit}`],
    ["KB", `invalid size "KB" ${unit}`],
    ["0.5B", 'invalid size "0.5B" (not a whole number of bytes)'],
    ["99999999999GB", 'invalid size "99999999999GB" (too large)'],
  ])("%p is refused", (text, message) => {
    expect(thrown(() => parseSize(text))).toBe(message);
  });
});
