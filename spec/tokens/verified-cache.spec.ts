/**
 * The verified-token cache: a token presented again skips its signature check and nothing else.
 * Unit checks of the cache against a full verification, then the plugin with the cache on
 * (its default) over real HTTP and MongoDB, for the attacks a cache could let through.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import Router from '@koa/router';
import Koa from 'koa';
import { ConfigError, InvalidTokenError } from '../../lib/errors.js';
import { resolveConfig } from '../../lib/config.js';
import { Ledger, MemoryStore } from '../../lib/ledger/index.js';
import { verifyAs, type SessionDeps } from '../../lib/sessions/deps.js';
import { StoreRevocationCheck } from '../../lib/sessions/revocation-check.js';
import { ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP } from '../../lib/tokens/claims.js';
import type { KeySet } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { VerifiedTokenCache } from '../../lib/tokens/verified-cache.js';
import { verifyToken } from '../../lib/tokens/verify.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { es256KeySet, keyPair } from '../support/keys.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import {
  TOLERANCE,
  accessClaims,
  refreshClaims,
  signRaw,
  verifyOptions,
} from '../support/tokens.js';
import { call, serve, type Served } from '../support/http.js';

use(chaiAsPromised);

describe('tokens/verified-cache', () => {
  let keys: KeySet;
  let clock: FakeClock;

  before(async () => {
    keys = await es256KeySet();
  });
  beforeEach(() => {
    clock = fakeClock();
  });

  async function verifiedToken(claims = accessClaims(clock)) {
    const jwt = await signToken(keys, ACCESS_TOKEN_TYP, claims);
    return { jwt, verified: await verifyToken(keys, jwt, verifyOptions(clock)) };
  }

  it('returns what the full verification returned, as fresh objects on every hit', async () => {
    const cache = new VerifiedTokenCache(10);
    const { jwt, verified } = await verifiedToken();
    cache.remember(jwt, verified);
    const first = cache.lookup(jwt, ACCESS_TOKEN_TYP, clock(), TOLERANCE);
    expect(first).to.deep.equal(verified);
    (first?.claims as Record<string, unknown>)['sub'] = 'someone-else';
    (first?.header as Record<string, unknown>)['kid'] = 'other';
    expect(cache.lookup(jwt, ACCESS_TOKEN_TYP, clock(), TOLERANCE)).to.deep.equal(verified);
  });

  it('finds only the exact token string, and only as the typ it was verified as', async () => {
    const cache = new VerifiedTokenCache(10);
    const { jwt, verified } = await verifiedToken();
    cache.remember(jwt, verified);
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const flipped = `${s.slice(0, -2)}${s.at(-2) === 'A' ? 'B' : 'A'}${s.at(-1)}`;
    for (const variant of [`${h}.${p}.${flipped}`, `${jwt} `, jwt.slice(0, -1), `${h}.${p}.`]) {
      expect(cache.lookup(variant, ACCESS_TOKEN_TYP, clock(), TOLERANCE)).to.equal(undefined);
    }
    expect(cache.lookup(jwt, REFRESH_TOKEN_TYP, clock(), TOLERANCE)).to.equal(undefined);
  });

  it('agrees with a full verification at every second around the exp, nbf and iat boundaries', async () => {
    const now = Math.floor(clock() / 1000);
    const cases = [
      { claims: accessClaims(clock), around: now + 1800 + TOLERANCE },
      { claims: { ...accessClaims(clock), nbf: now + 30 }, around: now + 30 - TOLERANCE },
      { claims: { ...accessClaims(clock), iat: now + 30 }, around: now + 30 - TOLERANCE },
    ];
    for (const { claims, around } of cases) {
      const jwt = await signRaw(
        keys.signing.key,
        { alg: 'ES256', kid: 'k1', typ: 'at+jwt' },
        claims,
      );
      // Verified once at a time the token is valid, as a first presentation would be.
      const validAt = (Math.max(claims.iat, claims.nbf ?? 0) + 1) * 1000;
      const cache = new VerifiedTokenCache(10);
      cache.remember(
        jwt,
        await verifyToken(keys, jwt, verifyOptions(clock, { now: () => validAt })),
      );
      for (let second = around - 3; second <= around + 3; second++) {
        const at = second * 1000 + 500;
        const full = await verifyToken(keys, jwt, verifyOptions(clock, { now: () => at })).then(
          () => true,
          () => false,
        );
        const hit = cache.lookup(jwt, ACCESS_TOKEN_TYP, at, TOLERANCE) !== undefined;
        expect(hit, `at ${second - around} s from the boundary`).to.equal(full);
        // A miss dropped the entry; put it back for the next second.
        if (!hit)
          cache.remember(
            jwt,
            await verifyToken(keys, jwt, verifyOptions(clock, { now: () => validAt })),
          );
      }
    }
  });

  it('drops an entry whose time claims no longer hold', async () => {
    const cache = new VerifiedTokenCache(10);
    const { jwt, verified } = await verifiedToken();
    cache.remember(jwt, verified);
    const expired = clock() + (1800 + TOLERANCE) * 1000;
    expect(cache.lookup(jwt, ACCESS_TOKEN_TYP, expired, TOLERANCE)).to.equal(undefined);
    expect(cache.size).to.equal(0);
  });

  it('never holds more than maxEntries, making room by dropping the oldest', async () => {
    const cache = new VerifiedTokenCache(3);
    const tokens = [];
    for (let i = 0; i < 5; i++) tokens.push(await verifiedToken());
    for (const { jwt, verified } of tokens) cache.remember(jwt, verified);
    expect(cache.size).to.equal(3);
    const found = tokens.map(
      ({ jwt }) => cache.lookup(jwt, ACCESS_TOKEN_TYP, clock(), TOLERANCE) !== undefined,
    );
    expect(found).to.deep.equal([false, false, true, true, true]);
  });

  it('refuses a size that is not a positive integer [0, -1, 1.5, NaN]', () => {
    for (const size of [0, -1, 1.5, Number.NaN]) {
      expect(() => new VerifiedTokenCache(size)).to.throw(TypeError, '"maxEntries"');
    }
  });

  describe('in the session layer', () => {
    async function deps(): Promise<SessionDeps & { verified: VerifiedTokenCache }> {
      const config = resolveConfig({
        issuer: 'https://auth.example.org',
        keys: { privateKeyPem: (await keyPair('ES256')).privatePem, kid: 'k1', alg: 'ES256' },
        subjectSecret: 'a'.repeat(32),
        store: { memory: true },
        clock,
      });
      const ledger = new Ledger({ store: new MemoryStore(), clock });
      return {
        config,
        keys,
        ledger,
        revocation: new StoreRevocationCheck(ledger, config),
        verified: new VerifiedTokenCache(10),
      };
    }

    it('remembers access tokens and never refresh tokens, which are single use', async () => {
      const d = await deps();
      await verifyAs(
        d,
        await signToken(keys, REFRESH_TOKEN_TYP, refreshClaims(clock)),
        REFRESH_TOKEN_TYP,
      );
      expect(d.verified.size).to.equal(0);
      await verifyAs(
        d,
        await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock)),
        ACCESS_TOKEN_TYP,
      );
      expect(d.verified.size).to.equal(1);
    });

    it('gives an expired cached token the same error as a first presentation', async () => {
      const d = await deps();
      const jwt = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
      await verifyAs(d, jwt, ACCESS_TOKEN_TYP);
      clock.advance((1800 + TOLERANCE) * 1000);
      await expect(verifyAs(d, jwt, ACCESS_TOKEN_TYP))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'expired', code: 'ERR_INVALID_TOKEN' });
    });
  });
});

describe('the verified-token cache through the plugin [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let a: TestPlugin;
  let b: TestPlugin;
  let app: Served;
  let seen: unknown[] = [];

  before(async () => {
    t = await openTestDatabase('verified_cache');
    a = await testPlugin(t.db);
    // A second instance on the same database, with its own clock and its own cache.
    b = await testPlugin(t.db, {}, a.clock);
    const koa = new Koa();
    koa.silent = true;
    const router = new Router();
    router.get('/api/me', a.auth.authenticate(), (ctx) => {
      seen.push(structuredClone(ctx.state['user']));
      // A handler that changes what it was given (as host apps do) must not change later requests.
      const user = ctx.state['user'] as Record<string, unknown>;
      user['sub'] = 'changed-by-handler';
      user['scope'] = 'admin';
      ctx.body = { ok: true };
    });
    koa.use(router.routes());
    app = await serve(koa);
  });
  after(async () => {
    await app.close();
    await a.auth.close();
    await b.auth.close();
    await t.dispose();
  });
  beforeEach(() => {
    seen = [];
  });

  const get = (token: string) => call(`${app.url}/api/me`, `Bearer ${token}`);
  let users = 0;
  const login = () => a.auth.issue({ id: `cache-${++users}` }, { source: 'test' });

  it('hands every request the token claims, whatever an earlier handler did to its copy', async () => {
    const pair = await login();
    expect((await get(pair.access_token)).status).to.equal(200);
    expect((await get(pair.access_token)).status).to.equal(200);
    expect(seen).to.have.length(2);
    expect(seen[1]).to.deep.equal(seen[0]);
    expect(seen[1]).to.not.have.property('scope');
  });

  it('refuses a cached token once another instance revokes it, on the very next request', async () => {
    const pair = await login();
    expect((await get(pair.access_token)).status).to.equal(200);
    const { claims } = await a.auth.tokens.verify(pair.access_token);
    await b.auth.revoke({ jti: claims.jti }, { reason: 'test', actor: 'admin' });
    const answer = await get(pair.access_token);
    expect(answer.status).to.equal(401);
    expect(answer.headers.get('www-authenticate')).to.match(/error="invalid_token"/);
    expect(seen).to.have.length(1);
  });

  it('refuses a cached token once its session or subject is revoked [sid, sub]', async () => {
    for (const by of ['sid', 'sub'] as const) {
      const pair = await login();
      const { claims } = await a.auth.tokens.verify(pair.access_token);
      await b.auth.revoke(by === 'sid' ? { sid: claims.sid } : { sub: claims.sub }, {});
      expect((await get(pair.access_token)).status, by).to.equal(401);
    }
  });

  it('refuses a variant of a cached token [another signature, another payload]', async () => {
    const pair = await login();
    expect((await get(pair.access_token)).status).to.equal(200);
    const [h, p, s] = pair.access_token.split('.') as [string, string, string];
    const other = (await login()).access_token.split('.')[1] as string;
    const flipped = `${s.slice(0, 5)}${s[5] === 'A' ? 'B' : 'A'}${s.slice(6)}`;
    for (const forged of [`${h}.${p}.${flipped}`, `${h}.${other}.${s}`]) {
      expect((await get(forged)).status).to.equal(401);
    }
    expect(seen).to.have.length(1);
  });

  it('refuses a cached token after it expires, and before it is valid when the clock goes back', async () => {
    const pair = await login();
    expect((await get(pair.access_token)).status).to.equal(200);
    const issuedAt = a.clock();
    a.clock.set(issuedAt - (TOLERANCE + 2) * 1000);
    expect((await get(pair.access_token)).status).to.equal(401);
    a.clock.set(issuedAt + (1800 + TOLERANCE) * 1000);
    expect((await get(pair.access_token)).status).to.equal(401);
    a.clock.set(issuedAt);
  });

  it('accepts verifyCache.maxEntries 0 (no cache) and refuses other values', async () => {
    const off = await testPlugin(null, { verifyCache: { maxEntries: 0 } });
    try {
      const pair = await off.auth.issue({ id: 'cache-off' }, { source: 'test' });
      await off.auth.tokens.verify(pair.access_token);
      await off.auth.tokens.verify(pair.access_token);
    } finally {
      await off.auth.close();
    }
    for (const maxEntries of [-1, 1.5, 2_000_000]) {
      await expect(testPlugin(null, { verifyCache: { maxEntries } }))
        .to.be.rejectedWith(ConfigError)
        .and.eventually.have.property('message')
        .that.matches(/^options\.verifyCache\.maxEntries /);
    }
    await expect(testPlugin(null, { verifyCache: { size: 5 } as never })).to.be.rejectedWith(
      ConfigError,
      'options.verifyCache.size is not an option',
    );
  });
});
