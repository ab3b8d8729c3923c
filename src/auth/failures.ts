/**
 * Why a credential was refused. Preallocated and frozen so a flood of bad
 * tokens allocates nothing here; `reason` goes to the client as the 401
 * message and `error_description`, so it is a fixed phrase that never quotes
 * the credential (and never contains `"` or `\`, RFC 6750 §3).
 */
export interface AuthFailure {
  readonly failed: true;
  readonly reason: string;
}

function failure(reason: string): AuthFailure {
  return Object.freeze({ failed: true as const, reason });
}

export const FAIL = Object.freeze({
  tooLarge: failure("token too large"),
  malformed: failure("malformed token"),
  encrypted: failure("encrypted tokens are not supported"),
  unknownIssuer: failure("unknown issuer"),
  algorithm: failure("algorithm not allowed"),
  crit: failure("unsupported critical header"),
  typ: failure("unexpected token type"),
  nested: failure("nested tokens are not supported"),
  noKey: failure("no matching key"),
  signature: failure("bad signature"),
  expired: failure("token expired"),
  notYetValid: failure("token not yet valid"),
  missingExp: failure("token has no expiry"),
  badClaim: failure("invalid claim type"),
  issuer: failure("wrong issuer"),
  audience: failure("wrong audience"),
  revoked: failure("token revoked"),
  apiKey: failure("invalid API key"),
  apiKeyRevoked: failure("API key revoked"),
  // 400 invalid_request (RFC 6750 §3.1): the request, not the token, is malformed.
  badAuthorization: failure("malformed Authorization header"),
  twoMethods: failure("access token sent by more than one method"),
});
