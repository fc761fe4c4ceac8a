/**
 * Bounded-staleness revocation (`revocation: { maxStalenessMs }`, docs/revocation.md): instances
 * sharing one database, like app instances behind a balancer. A revocation made through one is
 * enforced by every other once its local view is older than the bound; within the bound it may not
 * be yet (that is the trade the option makes); a view that cannot refresh fails closed.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import Router from '@koa/router';
import { decodeJwt, type JWTPayload } from 'jose';
import Koa from 'koa';
import { InvalidTokenError, StoreUnavailableError } from '../../lib/errors.js';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import { MongoStore, type LedgerStore } from '../../lib/ledger/index.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import { ledgerOf } from '../../lib/internals.js';
import { fakeClock } from '../support/clock.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { keyPair } from '../support/keys.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';
import { call, serve } from '../support/http.js';
import { delayedRevocations } from '../ledger/wrappers.js';

use(chaiAsPromised);

const BOUND = 1000;

let users = 0;
function newUser() {
  users += 1;
  return { id: `view-${users}`, username: `viewer${users}` };
}

describe('revocation view with maxStalenessMs [MongoDB, several instances]', () => {
  let t: TestDatabase;
  /** The instance that answers requests from its local view. */
  let a: TestPlugin;
  /** Another instance on the same database: it issues and revokes. */
  let b: TestPlugin;
  const instances: TestPlugin[] = [];

  /** An instance on the test database with its own client, so its store can be closed alone. */
  async function instance(
    options: { ownClient?: boolean; startAt?: number } = {},
  ): Promise<TestPlugin> {
    const store = options.ownClient
      ? {
          mongo: { uri: testServerUri(), dbName: t.db.databaseName, serverSelectionTimeoutMS: 500 },
        }
      : { mongo: { db: t.db } };
    const created = await testPlugin(
      null,
      { store, revocation: { maxStalenessMs: BOUND } },
      fakeClock(options.startAt ?? b.clock()),
    );
    instances.push(created);
    return created;
  }

  /** Real time passing for every instance alike. */
  function elapse(ms: number): void {
    for (const { clock } of instances) clock.advance(ms);
  }

  async function issued(): Promise<{ pair: TokenResponse; claims: JWTPayload }> {
    const pair = await b.auth.issue(newUser(), { source: 'test' });
    return { pair, claims: decodeJwt(pair.access_token) };
  }

  before(async () => {
    t = await openTestDatabase('revocation_view');
    b = await testPlugin(t.db, { revocation: { maxStalenessMs: BOUND } });
    instances.push(b);
    a = await instance();
  });
  after(async () => {
    for (const { auth } of instances) await auth.close();
    await t.dispose();
  });

  it('accepts at one instance a token issued through another', async () => {
    const { pair } = await issued();
    const checked = await a.auth.tokens.verify(pair.access_token);
    expect(checked.token).to.equal(pair.access_token);
  });

  for (const [kind, revoke] of [
    ['token', (auth: JwtConnect, claims: JWTPayload) => auth.revoke({ jti: claims.jti! })],
    [
      'session',
      (auth: JwtConnect, claims: JWTPayload) => auth.revoke({ sid: claims['sid'] as string }),
    ],
    ['subject', (auth: JwtConnect, claims: JWTPayload) => auth.revoke({ sub: claims.sub! })],
  ] as const) {
    it(`refuses a token revoked through another instance once its view is older than the bound [${kind}]`, async () => {
      const { pair, claims } = await issued();
      await a.auth.tokens.verify(pair.access_token);
      await revoke(b.auth, claims);
      elapse(BOUND + 1);
      await expect(a.auth.tokens.verify(pair.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'revoked' });
    });
  }

  it('enforces a revocation whose insert reached the store seconds after its time, within the bound of its arrival', async () => {
    const delayed = delayedRevocations(new MongoStore({ db: t.db }));
    const slow = await testPlugin(
      null,
      { store: { custom: delayed.store }, revocation: { maxStalenessMs: BOUND } },
      fakeClock(b.clock()),
    );
    instances.push(slow);
    const { pair, claims } = await issued();
    await a.auth.tokens.verify(pair.access_token);

    const revoking = slow.auth.revoke({ sid: claims['sid'] as string }, { reason: 'compromised' });
    await delayed.held;
    // The insert is held for 8 s (a failover, a paused process); the viewer keeps syncing.
    for (let second = 0; second < 8; second++) {
      elapse(1000);
      await a.auth.tokens.verify(pair.access_token);
    }
    await delayed.release();
    await revoking;

    elapse(BOUND + 1);
    await expect(a.auth.tokens.verify(pair.access_token))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.include({ reason: 'revoked' });
  });

  it('accepts a login after a subject cut-off it has seen', async () => {
    const user = newUser();
    const before = await b.auth.issue(user, { source: 'test' });
    await b.auth.revoke({ sub: b.auth.subjectOf(user) }, { reason: 'compromised' });
    elapse(BOUND + 1);
    await expect(a.auth.tokens.verify(before.access_token)).to.be.rejectedWith(InvalidTokenError);
    const after = await b.auth.issue(user, { source: 'test' });
    await expect(a.auth.tokens.verify(after.access_token)).to.be.fulfilled;
  });

  it('enforces a revocation made before it started (revocations survive restarts)', async () => {
    const { pair, claims } = await issued();
    await b.auth.revoke({ sid: claims['sid'] as string }, { reason: 'logout' });
    const restarted = await instance();
    await expect(restarted.auth.tokens.verify(pair.access_token))
      .to.be.rejectedWith(InvalidTokenError)
      .and.eventually.include({ reason: 'revoked' });
  });

  it('refuses a validly signed token the ledger never recorded, even with a fresh view', async () => {
    const { claims } = await issued();
    const key = (await keyPair('ES256')).privateKey;
    const kid = a.auth.tokens.jwks().keys[0]!.kid;
    const header = { alg: 'ES256', kid, typ: 'at+jwt' };
    const forgeries = [
      { ...claims, jti: 'bm90LXJlY29yZGVkLWp0aQ', sid: 'bm90LXJlY29yZGVkLXNpZA' },
      { ...claims, jti: 'bm90LXJlY29yZGVkLWp0aQ' },
      { ...claims, sub: (await issued()).claims.sub },
    ];
    // The genuine claims re-signed pass, so only the unrecorded part makes the difference.
    await expect(a.auth.tokens.verify(await signRaw(key, header, claims))).to.be.fulfilled;
    for (const forged of forgeries) {
      await expect(a.auth.tokens.verify(await signRaw(key, header, forged)))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'unknown' });
    }
  });

  it('fails start-up when its first view cannot be loaded, and closes the store it opened', async () => {
    let closed = 0;
    const inner = new MongoStore({ db: t.db });
    const store = new Proxy(inner, {
      get(target, property) {
        if (property === 'queryEvents') {
          return () => Promise.reject(new StoreUnavailableError('the query timed out'));
        }
        if (property === 'close') {
          return () => {
            closed += 1;
            return target.close();
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    }) as LedgerStore;
    await expect(
      testPlugin(null, { store: { custom: store }, revocation: { maxStalenessMs: BOUND } }),
    ).to.be.rejectedWith(StoreUnavailableError);
    expect(closed).to.equal(1);
  });

  describe('within the bound, with no way to refresh', () => {
    let c: TestPlugin;
    let known: TokenResponse;

    beforeEach(async () => {
      c = await instance({ ownClient: true });
      known = (await issued()).pair;
      await c.auth.tokens.verify(known.access_token);
      await ledgerOf(c.auth).store.close();
    });

    it('answers from its local view, so it may still accept a token revoked elsewhere until the bound passes', async () => {
      await b.auth.revoke({ jti: decodeJwt(known.access_token).jti! }, { reason: 'logout' });
      await expect(c.auth.tokens.verify(known.access_token)).to.be.fulfilled;
      c.clock.advance(BOUND);
      await expect(c.auth.tokens.verify(known.access_token)).to.be.fulfilled;
    });

    it('fails closed with StoreUnavailableError once the view is older than the bound', async () => {
      c.clock.advance(BOUND + 1);
      await expect(c.auth.tokens.verify(known.access_token))
        .to.be.rejectedWith(StoreUnavailableError)
        .and.eventually.include({ code: 'ERR_STORE_UNAVAILABLE', status: 503 });
    });

    it('fails closed on a token it has never seen, since it cannot check the token was recorded', async () => {
      const { pair } = await issued();
      await expect(c.auth.tokens.verify(pair.access_token)).to.be.rejectedWith(
        StoreUnavailableError,
      );
    });

    it('answers 503 at authenticate() when the view is older than the bound, never a pass', async () => {
      const app = new Koa();
      app.silent = true;
      const router = new Router();
      let handled = 0;
      router.get('/api/me', c.auth.authenticate(), (ctx) => {
        handled += 1;
        ctx.body = 'ok';
      });
      app.use(router.routes());
      const served = await serve(app);
      try {
        const bearer = `Bearer ${known.access_token}`;
        expect((await call(`${served.url}/api/me`, bearer)).status).to.equal(200);
        c.clock.advance(BOUND + 1);
        const answer = await call(`${served.url}/api/me`, bearer);
        expect(answer.status).to.equal(503);
        expect(answer.body).to.include({ error: 'temporarily_unavailable' });
        expect(handled).to.equal(1);
      } finally {
        await served.close();
      }
    });
  });
});
