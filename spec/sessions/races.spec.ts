/**
 * Decisions that span streams, raced at the exact moment that used to let both sides through:
 * the single-session policy (`multipleTokens: false`) with two concurrent logins, and a refresh
 * that loses a race on its session while the subject is logged out everywhere. On both stores.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { ConcurrencyError, InvalidGrantError } from '../../lib/errors.js';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import { MemoryStore, MongoStore, type LedgerStore } from '../../lib/ledger/index.js';
import { ledgerOf } from '../../lib/internals.js';
import { fakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { ALICE, testPlugin } from '../support/plugin.js';
import { beforeFirstAppend, openSessionsBarrier } from '../ledger/wrappers.js';
import '../ledger/expect.js';

async function accepted(auth: JwtConnect, token: string): Promise<boolean> {
  return auth.tokens.verify(token).then(
    () => true,
    () => false,
  );
}

for (const backend of ['memory', 'MongoDB'] as const) {
  describe(`decisions across streams under races [${backend}]`, () => {
    let t: TestDatabase | undefined;
    const opened: JwtConnect[] = [];

    async function baseStore(): Promise<LedgerStore> {
      if (backend === 'memory') return new MemoryStore();
      t ??= await openTestDatabase('sessions_races');
      return new MongoStore({ db: t.db });
    }

    async function plugin(store: LedgerStore, options = {}): Promise<JwtConnect> {
      const { auth } = await testPlugin(
        null,
        { store: { custom: store }, ...options },
        fakeClock(),
      );
      opened.push(auth);
      return auth;
    }

    after(async () => {
      for (const auth of opened) await auth.close();
      await t?.dispose();
    });

    it('leaves exactly one session of two concurrent logins under the single-session policy', async () => {
      const auth = await plugin(openSessionsBarrier(await baseStore(), 2), {
        multipleTokens: false,
      });
      const results = await Promise.allSettled([
        auth.issue(ALICE, { source: 'saml' }),
        auth.issue(ALICE, { source: 'oidc' }),
      ]);
      const pairs = results.flatMap((result) =>
        result.status === 'fulfilled' ? [result.value] : [],
      );
      const working = [];
      for (const pair of pairs) {
        if (await accepted(auth, pair.access_token)) working.push(pair);
      }
      expect(working, 'sessions whose tokens work').to.have.length(1);
      expect(await ledgerOf(auth).store.findOpenSessions(auth.subjectOf(ALICE))).to.have.length(1);
      for (const result of results) {
        if (result.status === 'rejected') expect(result.reason).to.be.instanceOf(ConcurrencyError);
      }
    });

    it('refuses a refresh that lost a race on its session while the subject was logged out everywhere, and records no rotation', async () => {
      const late: { auth?: JwtConnect; accessJti?: string } = {};
      // Just before the refresh appends: an access token of the session is revoked (so the
      // refresh loses its seq and decides again) and the subject is logged out everywhere.
      const store = beforeFirstAppend(await baseStore(), 'refreshed', async () => {
        await late.auth!.revoke({ jti: late.accessJti! }, { reason: 'logout' });
        await late.auth!.revoke({ sub: late.auth!.subjectOf(ALICE) }, { reason: 'compromised' });
      });
      const auth = await plugin(store);
      late.auth = auth;
      const pair = await auth.issue(ALICE, { source: 'saml' });
      const { sid, jti } = decodeJwt(pair.access_token) as { sid: string; jti: string };
      late.accessJti = jti;

      await expect(auth.refresh(pair.refresh_token))
        .to.be.rejectedWith(InvalidGrantError)
        .and.eventually.include({ code: 'ERR_INVALID_GRANT' });
      const types = (await auth.audit.history({ sid })).events.map((event) => event.type);
      expect(types).to.deep.equal(['issued', 'revoked']);
    });
  });
}
