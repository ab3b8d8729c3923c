/**
 * The building blocks of the config schema: the primitive schemas with their
 * error messages, and the pieces more than one section uses. Policies take
 * their route keys from here (src/policies/<name>/config.ts); src/config/schema.ts
 * composes the whole file from these and the recipe.
 *
 * Two annotations steer the error messages (see schema-errors.ts):
 *   errorMessage     the plain message for any failure of that schema
 *   x-unit           "duration" | "size": a pattern failure is described by
 *                    parseDuration / parseSize, so both paths say the same thing
 *   x-not-available  key → message for keys that DESIGN.md names but this
 *                    version does not implement (better than "unknown key")
 */

import { type Static, type TProperties, type TSchema, type TUnsafe, Type } from "@sinclair/typebox";
import { RATE_LIMIT_ALGORITHMS } from "../limits/config.ts";
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.ts";

export const UNIT = "x-unit";
export const NOT_AVAILABLE = "x-not-available";

export function table<T extends TProperties>(properties: T, options: Record<string, unknown> = {}) {
  return Type.Object(properties, { additionalProperties: false, errorMessage: "expected a table", ...options });
}

/** A string enum; `Unsafe` only narrows the static type, the schema stays a union of literals. */
export function oneOf<const T extends readonly string[]>(values: T): TUnsafe<T[number]> {
  const listed = values.map((v) => JSON.stringify(v)).join(", ");
  const union = Type.Union(
    values.map((v) => Type.Literal(v)),
    { errorMessage: `expected one of ${listed}` },
  );
  return Type.Unsafe<T[number]>(union);
}

export const opt = <T extends TSchema>(schema: T) => Type.Optional(schema);

export const Str = Type.String({ errorMessage: "expected a string" });
export const NonEmpty = Type.String({ minLength: 1, errorMessage: "expected a non-empty string" });
export const Bool = Type.Boolean({ errorMessage: "expected true or false" });
export const PositiveInt = Type.Integer({ minimum: 1, errorMessage: "expected a positive integer" });
export const NonNegativeInt = Type.Integer({ minimum: 0, errorMessage: "expected an integer >= 0" });
export const StrList = Type.Array(Str, { errorMessage: "expected a list of strings" });
export const NameList = Type.Array(NonEmpty, { errorMessage: "expected a list of strings" });
export const Duration = Type.String({
  pattern: DURATION_PATTERN,
  [UNIT]: "duration",
  errorMessage: 'expected a duration string such as "250ms", "5s", "1m", "24h"',
});
export const Size = Type.String({
  pattern: SIZE_PATTERN,
  [UNIT]: "size",
  errorMessage: 'expected a size string such as "512B", "64KB", "10MB"',
});

export const RateLimitSchema = table({
  algorithm: oneOf(RATE_LIMIT_ALGORITHMS),
  limit: PositiveInt,
  window: opt(Duration),
  burst: opt(NonNegativeInt),
  key: opt(Type.Union([Str, StrList], { errorMessage: "expected a string or a list of strings" })),
  delay: opt(Bool),
  adaptive: opt(
    table({
      lag_threshold: opt(Duration),
      min_factor: opt(
        Type.Number({ exclusiveMinimum: 0, maximum: 1, errorMessage: "expected a number greater than 0 and at most 1" }),
      ),
    }),
  ),
});

export const RateLimits = Type.Array(RateLimitSchema, { errorMessage: "expected a list of rate-limit tables" });

export type RawRateLimit = Static<typeof RateLimitSchema>;

/**
 * What normalization sees after a failed schema check: offending values are
 * removed (array items leave holes), required keys may be missing. Normalizers
 * take this so they can keep checking the valid parts and report everything.
 */
export type Loose<T> = T extends readonly (infer U)[]
  ? (Loose<U> | undefined)[]
  : T extends object
    ? { [K in keyof T]?: Loose<T[K]> }
    : T;
