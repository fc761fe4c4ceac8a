/**
 * Shared fixtures for token tests: the issuer, verify options and claims built from a fake clock.
 */
import type { KeyObject } from 'node:crypto';
import {
  CompactSign,
  base64url,
  type CompactJWSHeaderParameters,
  type CryptoKey,
  type SignOptions,
} from 'jose';
import { epochSeconds } from '../../lib/clock.js';
import {
  ACCESS_TOKEN_TYP,
  buildAccessClaims,
  buildRefreshClaims,
  newSessionId,
  newTokenId,
  type AccessTokenClaims,
  type IssueContext,
  type RefreshTokenClaims,
  type UserRecord,
} from '../../lib/tokens/claims.js';
import type { VerifyOptions } from '../../lib/tokens/verify.js';
import type { FakeClock } from './clock.js';

export const ISSUER = 'https://auth.example.org';
export const ACCESS_TTL = 1800;
export const REFRESH_TTL = 3600;
export const TOLERANCE = 5;

export const ALICE: UserRecord = {
  id: '42',
  username: 'alice',
  first_name: 'Alice',
  last_name: 'Liddell',
  email: 'alice@example.org',
};

export function verifyOptions(
  clock: FakeClock,
  overrides: Partial<VerifyOptions> = {},
): VerifyOptions {
  return {
    issuer: ISSUER,
    typ: ACCESS_TOKEN_TYP,
    clockToleranceSeconds: TOLERANCE,
    now: clock,
    ...overrides,
  };
}

export function issueContext(
  clock: FakeClock,
  overrides: Partial<IssueContext> = {},
): IssueContext {
  return {
    sub: 'c3ViamVjdA',
    sid: newSessionId(),
    jti: newTokenId(),
    now: epochSeconds(clock),
    ...overrides,
  };
}

export function accessClaims(
  clock: FakeClock,
  overrides: Partial<IssueContext> = {},
): AccessTokenClaims {
  return buildAccessClaims(
    ALICE,
    { issuer: ISSUER, ttlSeconds: ACCESS_TTL },
    issueContext(clock, overrides),
  );
}

export function refreshClaims(
  clock: FakeClock,
  overrides: Partial<IssueContext> = {},
): RefreshTokenClaims {
  return buildRefreshClaims(
    { issuer: ISSUER, ttlSeconds: REFRESH_TTL },
    issueContext(clock, overrides),
  );
}

/** A compact JWS over arbitrary payload bytes (or JSON), signed by `key` with `header`. */
export function signRaw(
  key: CryptoKey | KeyObject | Uint8Array,
  header: CompactJWSHeaderParameters,
  payload: unknown,
  options?: SignOptions,
): Promise<string> {
  const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
  return new CompactSign(new TextEncoder().encode(text))
    .setProtectedHeader(header)
    .sign(key, options);
}

/** A token jose would refuse to produce (e.g. `alg: none`): parts encoded by hand. */
export function unsignedToken(header: object, payload: object, signature = ''): string {
  const part = (value: object) => base64url.encode(JSON.stringify(value));
  return `${part(header)}.${part(payload)}.${signature}`;
}
