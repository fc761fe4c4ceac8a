/**
 * An acknowledged revocation is enforced when the projection write fails after the append: the
 * `revoked` event is in the log but the session's state is not updated. Every instance must enforce
 * it anyway, without a restart: a reader that finds the stream marked pending completes the
 * projection first.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { InvalidTokenError } from '../../lib/errors.js';
import { MongoStore } from '../../lib/ledger/index.js';
import { ledgerOf } from '../../lib/internals.js';
import { fakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { saveStateFailsOnceArmed, SimulatedCrash } from '../ledger/wrappers.js';
import '../ledger/expect.js';

const TWENTY_MINUTES = 20 * 60_000;

describe('a revocation whose projection write failed [MongoDB, two instances]', () => {
  let t: TestDatabase;
  let one: TestPlugin;
  let two: TestPlugin;
  let arm: () => void;

  beforeEach(async () => {
    t = await openTestDatabase('projection_lag');
    const clock = fakeClock();
    const failing = saveStateFailsOnceArmed(new MongoStore({ db: t.db }));
    arm = failing.arm;
    one = await testPlugin(null, { store: { custom: failing.store } }, clock);
    two = await testPlugin(t.db, {}, clock);
  });
  afterEach(async () => {
    await one.auth.close();
    await two.auth.close();
    await t.dispose();
  });

  it('is enforced by every running instance though the revoking call failed [session]', async () => {
    const pair = await two.auth.issue(ALICE, { source: 'saml' });
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    for (const { auth } of [one, two]) await auth.tokens.verify(pair.access_token);

    arm();
    await expect(one.auth.revoke({ sid }, { reason: 'compromised' })).to.be.rejectedWith(
      SimulatedCrash,
    );
    const jti = decodeJwt(pair.access_token).jti!;
    expect((await one.auth.audit.tokenAt(jti, new Date(one.clock()))).status).to.equal('revoked');

    one.clock.advance(TWENTY_MINUTES);
    for (const { auth } of [one, two]) {
      await expect(auth.tokens.verify(pair.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'revoked' });
    }
    await expect(two.auth.refresh(pair.refresh_token)).to.be.rejectedWith('revoked');
  });

  it('is enforced by every running instance after a system revocation whose projection write failed [refresh reuse]', async () => {
    const first = await two.auth.issue(ALICE, { source: 'saml' });
    const second = await two.auth.refresh(first.refresh_token);
    one.clock.advance(60_000);

    // Reuse of the spent token: the system revokes the session; no client is there to retry.
    arm();
    await expect(one.auth.refresh(first.refresh_token)).to.be.rejectedWith(SimulatedCrash);

    one.clock.advance(TWENTY_MINUTES);
    for (const { auth } of [one, two]) {
      await expect(auth.tokens.verify(second.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason: 'revoked' });
    }
  });

  it('is reported as revoked by introspection on every instance', async () => {
    const pair = await two.auth.issue(ALICE, { source: 'saml' });
    const admin = await two.auth.issue(
      { id: 'u-admin', username: 'admin' },
      { source: 'saml', scope: 'introspection' },
    );
    arm();
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    await expect(one.auth.revoke({ sid })).to.be.rejectedWith(SimulatedCrash);
    const jti = decodeJwt(pair.access_token).jti!;
    for (const { auth } of [one, two]) {
      const { introspect } = await import('../../lib/sessions/introspect.js');
      const caller = (await auth.tokens.verify(admin.access_token)).claims;
      const deps = { config: auth.config, ledger: ledgerOf(auth) } as never;
      expect(await introspect(deps, caller, { jti })).to.deep.equal({ active: false });
    }
  });
});
