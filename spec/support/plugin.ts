/**
 * A plugin instance for tests: real MongoDB (a database per spec file), a frozen clock and
 * test-time keys. Several instances may share one database, like app instances behind a balancer.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import type { JwtConnectOptions } from '../../lib/config.js';
import { jwtconnect, type JwtConnect } from '../../lib/jwtconnect.js';
import { fakeClock, type FakeClock } from './clock.js';
import { keyPair } from './keys.js';

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

export const ALICE = {
  id: 'u-alice',
  username: 'alice',
  first_name: 'Alice',
  email: 'alice@example.org',
};
export const BOB = { id: 'u-bob', username: 'bob' };
export const ADMIN = { id: 'u-admin', username: 'admin' };
