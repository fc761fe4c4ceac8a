/**
 * A plugin instance for tests: real MongoDB (a database per spec file), a frozen clock and
 * test-time keys. Several instances may share one database, like app instances behind a balancer.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Db } from 'mongodb';
import type { JwtConnectOptions } from '../../lib/config.js';
import { jwtconnect, type JwtConnect } from '../../lib/jwtconnect.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import { deriveRefreshMacKey } from '../../lib/tokens/refresh-key.js';
import { fakeClock, type FakeClock } from './clock.js';
import { keyPair } from './keys.js';
import { signRaw } from './tokens.js';

export const TEST_ISSUER = 'https://auth.example.org';
export const SUBJECT_SECRET = randomBytes(32).toString('base64url');

export const quietLogger = { warn: () => {}, error: () => {} };

export interface TestPlugin {
  auth: JwtConnect;
  clock: FakeClock;
}

/** A plugin on `db` (or the memory store when `db` is null). */
export async function testPlugin(
  db: Db | null,
  overrides: Partial<JwtConnectOptions> = {},
  clock: FakeClock = fakeClock(),
): Promise<TestPlugin> {
  const pair = await keyPair('ES256');
  const auth = await jwtconnect({
    issuer: TEST_ISSUER,
    keys: { privateKeyPem: pair.privatePem, alg: 'ES256' },
    subjectSecret: SUBJECT_SECRET,
    store: db ? { mongo: { db } } : { memory: true },
    clock,
    logger: quietLogger,
    ...overrides,
  });
  return { auth, clock };
}

/**
 * The key a `testPlugin` instance with its default keys and subjectSecret signed `token` with:
 * the refresh-token MAC key derived from the subject secret (HS256), else the ES256 key.
 */
export async function signingKeyOf(token: string): Promise<KeyObject | Uint8Array> {
  return decodeProtectedHeader(token).alg === 'HS256'
    ? deriveRefreshMacKey(SUBJECT_SECRET).secret
    : (await keyPair('ES256')).privateKey;
}

/**
 * `pair`'s refresh token as the configured key signed refresh tokens before they were MACed by
 * default: the same claims under the access token's key and kid. For `testPlugin`'s default keys.
 */
export async function refreshSignedByKeys(pair: TokenResponse): Promise<string> {
  const { kid } = decodeProtectedHeader(pair.access_token);
  const { privateKey } = await keyPair('ES256');
  return signRaw(
    privateKey,
    { alg: 'ES256', ...(kid !== undefined && { kid }), typ: 'rt+jwt' },
    decodeJwt(pair.refresh_token),
  );
}

export const ALICE = {
  id: 'u-alice',
  username: 'alice',
  first_name: 'Alice',
  email: 'alice@example.org',
};
export const BOB = { id: 'u-bob', username: 'bob' };
export const ADMIN = { id: 'u-admin', username: 'admin' };
