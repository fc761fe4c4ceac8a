/**
 * `auth.issue()`, the login hook's core: no token without its durably appended event, the claims a
 * user gets (claims map, extra claims, opaque `sub`), and what refresh carries over.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { createHmac, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import { ConfigError, InvalidRequestError, StoreUnavailableError } from '../../lib/errors.js';
import { MongoStore, type LedgerStore } from '../../lib/ledger/index.js';
import type { UserRecord } from '../../lib/tokens/claims.js';
import { ledgerOf } from '../../lib/internals.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { SUBJECT_SECRET, testPlugin, type TestPlugin } from '../support/plugin.js';

use(chaiAsPromised);

const CAROL = {
  id: 'u-carol',
  username: 'carol',
  first_name: 'Carol',
  last_name: 'Danvers',
  email: 'carol@example.org',
  password: 'never in a token',
  org: 'sales',
};

/** A store whose appends always fail, while reads work: the write is what must not be skipped. */
function failingAppends(inner: LedgerStore): LedgerStore {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'appendEvent') {
        return () => Promise.reject(new StoreUnavailableError('the append was not acknowledged'));
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
    },
  });
}

describe('auth.issue() [MongoDB]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  const extraCalls: [UserRecord, Context | undefined][] = [];

  async function eventsOf(user: UserRecord): Promise<number> {
    return (await p.auth.audit.history({ sub: p.auth.subjectOf(user) })).events.length;
  }

  before(async () => {
    t = await openTestDatabase('issue');
    p = await testPlugin(t.db, {
      extraClaims: (user, ctx) => {
        extraCalls.push([user, ctx]);
        return typeof user['org'] === 'string' ? { org: user['org'], roles: ['staff'] } : {};
      },
    });
  });
  after(async () => {
    await p.auth.close();
    await t.dispose();
  });

  describe('fails closed: no token without its event', () => {
    it('rejects with StoreUnavailableError and returns no token when the store is closed', async () => {
      const own = await testPlugin(null, {
        store: {
          mongo: { uri: testServerUri(), dbName: t.db.databaseName, serverSelectionTimeoutMS: 500 },
        },
      });
      const user = { id: 'u-closed', username: 'closed' };
      try {
        await ledgerOf(own.auth).store.close();
        await expect(own.auth.issue(user, { source: 'saml' }))
          .to.be.rejectedWith(StoreUnavailableError)
          .and.eventually.include({ code: 'ERR_STORE_UNAVAILABLE', status: 503 });
      } finally {
        await own.auth.close();
      }
      expect(await eventsOf(user)).to.equal(0);
    });

    it('rejects and returns no token when the store reads but does not acknowledge the append', async () => {
      const own = await testPlugin(null, {
        store: { custom: failingAppends(new MongoStore({ db: t.db })) },
      });
      const user = { id: 'u-unacknowledged', username: 'unacknowledged' };
      try {
        await expect(own.auth.issue(user, { source: 'saml' })).to.be.rejectedWith(
          StoreUnavailableError,
        );
      } finally {
        await own.auth.close();
      }
      expect(await eventsOf(user)).to.equal(0);
    });
  });

  describe('claims', () => {
    it('maps user fields with the default claims map, into the access token only', async () => {
      const pair = await p.auth.issue(CAROL, { source: 'saml' });
      const access = decodeJwt(pair.access_token);
      expect(access).to.include({
        username: 'carol',
        given_name: 'Carol',
        family_name: 'Danvers',
        email: 'carol@example.org',
      });
      for (const field of ['password', 'first_name', 'last_name', 'id']) {
        expect(access).to.not.have.property(field);
      }
      const refresh = decodeJwt(pair.refresh_token);
      for (const claim of ['username', 'given_name', 'family_name', 'email', 'org', 'roles']) {
        expect(refresh).to.not.have.property(claim);
      }
    });

    it('maps user fields with a custom claims map, and only those', async () => {
      const custom = await testPlugin(t.db, { claimsMap: { mail: 'email', display: 'name' } });
      try {
        const user = { id: 'u-custom', username: 'custom', mail: 'c@example.org', display: 'C' };
        const access = decodeJwt((await custom.auth.issue(user, { source: 'oidc' })).access_token);
        expect(access).to.include({ email: 'c@example.org', name: 'C' });
        expect(access).to.not.have.property('username');
      } finally {
        await custom.auth.close();
      }
    });

    it('adds extra claims to the access token, not the refresh token, with the request context', async () => {
      extraCalls.length = 0;
      const ctx = {
        ip: '10.0.0.7',
        get: (name: string) => (name === 'user-agent' ? 'test-agent' : ''),
      } as unknown as Context;
      const pair = await p.auth.issue(CAROL, { source: 'saml', ctx });
      expect(decodeJwt(pair.access_token)).to.deep.include({ org: 'sales', roles: ['staff'] });
      expect(decodeJwt(pair.refresh_token)).to.not.have.any.keys('org', 'roles');
      expect(extraCalls).to.have.length(1);
      expect(extraCalls[0]![1]).to.equal(ctx);
    });

    it('refuses extra claims that would override a claim the plugin sets, and records nothing', async () => {
      for (const claim of [
        'iss',
        'sub',
        'aud',
        'iat',
        'exp',
        'nbf',
        'jti',
        'sid',
        'ttype',
        'scope',
        'username',
      ]) {
        const user = { id: `u-override-${claim}`, username: 'override' };
        const own = await testPlugin(t.db, { extraClaims: () => ({ [claim]: 'forged' }) });
        try {
          await expect(own.auth.issue(user, { source: 'saml' }))
            .to.be.rejectedWith(ConfigError, new RegExp(`"${claim}"`))
            .and.eventually.include({ code: 'ERR_CONFIG' });
        } finally {
          await own.auth.close();
        }
        expect(await eventsOf(user), claim).to.equal(0);
      }
    });

    it('refuses extra claims that would override auth_time, recording nothing', async () => {
      const own = await testPlugin(t.db, { extraClaims: () => ({ auth_time: 1 }) });
      try {
        const before = await t.db.collection('jwtconnect_events').countDocuments();
        await expect(own.auth.issue(CAROL, { source: 'saml' })).to.be.rejectedWith(ConfigError);
        expect(await t.db.collection('jwtconnect_events').countDocuments()).to.equal(before);
      } finally {
        await own.auth.close();
      }
    });
  });

  describe('the subject', () => {
    it('is opaque: an HMAC-SHA256 of the user id under the subject secret, not the id', async () => {
      const sub = decodeJwt((await p.auth.issue(CAROL, { source: 'saml' })).access_token).sub!;
      expect(sub).to.not.include(CAROL.id);
      expect(sub).to.not.equal(createHmac('sha256', '').update(CAROL.id).digest('base64url'));
      expect(sub).to.equal(
        createHmac('sha256', SUBJECT_SECRET).update(CAROL.id).digest('base64url'),
      );
      expect(sub).to.equal(p.auth.subjectOf(CAROL));
    });

    it('is stable across instances with the same secret, and different under another secret', async () => {
      const same = await testPlugin(t.db);
      const other = await testPlugin(t.db, {
        subjectSecret: randomBytes(32).toString('base64url'),
      });
      try {
        const subOf = async (plugin: TestPlugin) =>
          decodeJwt((await plugin.auth.issue(CAROL, { source: 'saml' })).access_token).sub;
        const [a, b, c, d] = [
          await subOf(p),
          await subOf(p),
          await subOf(same),
          await subOf(other),
        ];
        expect(b).to.equal(a);
        expect(c).to.equal(a);
        expect(d).to.not.equal(a);
        expect(p.auth.subjectOf({ id: 'u-someone-else' })).to.not.equal(a);
      } finally {
        await same.auth.close();
        await other.auth.close();
      }
    });
  });

  describe('previewClaims', () => {
    it('shows the access-token claims a user would get and records nothing', async () => {
      const before = await ledgerOf(p.auth).store.countEvents();
      const preview = p.auth.tokens.previewClaims(CAROL, { scope: 'read' });
      expect(preview).to.include({
        sub: p.auth.subjectOf(CAROL),
        username: 'carol',
        org: 'sales',
        scope: 'read',
        ttype: 'T',
      });
      expect(await ledgerOf(p.auth).store.countEvents()).to.equal(before);
    });
  });

  describe('ids', () => {
    it('gives every token a unique jti and every session a unique sid of at least 128 bits', async () => {
      const pairs = await Promise.all(
        Array.from({ length: 20 }, () => p.auth.issue(CAROL, { source: 'saml' })),
      );
      const claims = pairs.flatMap((pair) =>
        [pair.access_token, pair.refresh_token].map((jwt) => decodeJwt(jwt)),
      );
      const jtis = claims.map((c) => c.jti!);
      const sids = pairs.map((pair) => decodeJwt(pair.access_token)['sid'] as string);
      expect(new Set(jtis).size).to.equal(40);
      expect(new Set(sids).size).to.equal(20);
      for (const id of [...jtis, ...sids])
        expect(Buffer.from(id, 'base64url')).to.have.length.of.at.least(16);
    });
  });

  describe('refresh', () => {
    it('re-issues the same user claims in the new access token, in the same session', async () => {
      const pair = await p.auth.issue(CAROL, { source: 'saml', scope: 'read' });
      p.clock.advance(60_000);
      const next = await p.auth.refresh(pair.refresh_token);
      const [before, after] = [decodeJwt(pair.access_token), decodeJwt(next.access_token)];
      const user = ['username', 'given_name', 'family_name', 'email', 'org', 'roles', 'scope'];
      for (const claim of ['sub', 'sid', 'auth_time', ...user]) {
        expect(after[claim], claim).to.deep.equal(before[claim]);
      }
      expect(after.jti).to.not.equal(before.jti);
      expect(after.iat).to.equal(before.iat! + 60);
    });
  });

  describe('audience', () => {
    it("puts the issue's own aud in both tokens and keeps it through a refresh", async () => {
      const own = await testPlugin(t.db, { audience: 'https://api.example.org' });
      try {
        const aud = ['https://api.example.org', 'https://other.example.org'];
        const pair = await own.auth.issue(CAROL, { source: 'saml', aud });
        expect(decodeJwt(pair.access_token).aud).to.deep.equal(aud);
        expect(decodeJwt(pair.refresh_token).aud).to.deep.equal(aud);
        await expect(own.auth.tokens.verify(pair.access_token)).to.be.fulfilled;
        const next = await own.auth.refresh(pair.refresh_token);
        expect(decodeJwt(next.access_token).aud).to.deep.equal(aud);
      } finally {
        await own.auth.close();
      }
    });

    it('refuses an aud without the configured audience, recording nothing', async () => {
      const own = await testPlugin(t.db, { audience: 'https://api.example.org' });
      try {
        const before = await t.db.collection('jwtconnect_events').countDocuments();
        for (const aud of ['https://other.example.org', [], ['']]) {
          await expect(
            own.auth.issue(CAROL, { source: 'saml', aud: aud as string[] }),
          ).to.be.rejectedWith(TypeError);
        }
        expect(await t.db.collection('jwtconnect_events').countDocuments()).to.equal(before);
      } finally {
        await own.auth.close();
      }
    });
  });

  describe('arguments', () => {
    it('refuses a call without a login source, or with a scope that is not scope syntax', async () => {
      await expect(p.auth.issue(CAROL, { source: '' })).to.be.rejectedWith(TypeError);
      await expect(p.auth.issue(CAROL, {} as { source: string })).to.be.rejectedWith(TypeError);
      for (const scope of ['', 'a  b', 'a "b"', ' a']) {
        await expect(p.auth.issue(CAROL, { source: 'saml', scope }))
          .to.be.rejectedWith(InvalidRequestError)
          .and.eventually.include({ code: 'ERR_INVALID_REQUEST' });
      }
    });
  });
});
