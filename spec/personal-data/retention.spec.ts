import * as chai from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt } from 'jose';
import { ConfigError, InvalidGrantError } from '../../lib/errors.js';
import { fakeClock } from '../support/clock.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { DISTINCT, ZELDA, onBothStores, request } from './support.js';

chai.use(chaiAsPromised);
const { expect } = chai;

const DAY = 86_400_000;
const JANUARY = Date.UTC(2030, 0, 20, 9, 0, 0);

onBothStores('personal data retention', (db) => {
  let p: TestPlugin;
  let round = 0;
  let shortLived: typeof ZELDA;
  let longLived: typeof ZELDA;
  let longRefresh: string;

  beforeEach(async () => {
    round += 1;
    p = await testPlugin(
      db(),
      {
        refreshTokenTtl: 120 * 86_400,
        sessionMaxAge: 120 * 86_400,
        personalData: { retentionDays: 30 },
      },
      // Each test a year before the one before: tests share a database, and the keys that
      // earlier tests left behind must not be past retention for a later one.
      fakeClock(JANUARY - round * 365 * DAY),
    );
    shortLived = { ...ZELDA, id: `${ZELDA.id}-short-${round}` };
    longLived = { ...ZELDA, id: `${ZELDA.id}-long-${round}` };
    const ctx = request(DISTINCT.ips[0] as string, DISTINCT.agents[0] as string);
    const short = await p.auth.issue(shortLived, { source: 'saml', ctx });
    await p.auth.revoke({ sid: decodeJwt(short.access_token)['sid'] as string }, { ctx });
    longRefresh = (await p.auth.issue(longLived, { source: 'saml', ctx })).refresh_token;
  });
  afterEach(async () => {
    await p.auth.close();
  });

  const personalOf = async (user: typeof ZELDA) =>
    (await p.auth.audit.history({ sub: p.auth.subjectOf(user) })).events.map((e) => e.personal);

  it('keeps every key while its month ended less than retentionDays ago', async () => {
    p.clock.advance(20 * DAY); // February 9th: January ended 9 days ago.
    expect(await p.auth.personalData.expire()).to.include({ destroyed: 0, kept: 0 });
    expect(await personalOf(shortLived)).to.deep.equal(['decrypted', 'decrypted']);
  });

  it('destroys the keys of a month that ended retentionDays ago: that data reads as expired', async () => {
    p.clock.advance(45 * DAY); // March 6th: January ended 33 days ago.
    const report = await p.auth.personalData.expire();
    expect(report).to.include({ destroyed: 1, kept: 1 });
    expect(await personalOf(shortLived)).to.deep.equal(['expired', 'expired']);
    expect((await p.auth.audit.verify()).ok).to.equal(true);
    expect((await p.auth.audit.rebuild({ dryRun: true })).differences).to.deep.equal([]);
    expect(await p.auth.personalData.expire()).to.include({ destroyed: 0, kept: 1 });
  });

  it('keeps the key of a session that can still refresh, until it no longer can', async () => {
    p.clock.advance(45 * DAY);
    await p.auth.personalData.expire();
    expect(await personalOf(longLived)).to.deep.equal(['decrypted']);
    const rotated = await p.auth.refresh(longRefresh);
    expect(decodeJwt(rotated.access_token)).to.include({ email: DISTINCT.email });

    await p.auth.revoke({ sub: p.auth.subjectOf(longLived) });
    expect(await p.auth.personalData.expire()).to.include({ destroyed: 1, kept: 0 });
    const events = await personalOf(longLived);
    // The session's own key (January) is gone; the refresh and the revocation of March had no
    // request, so they hold no personal data.
    expect(events[0]).to.equal('expired');
    await expect(p.auth.refresh(rotated.refresh_token)).to.be.rejectedWith(InvalidGrantError);
  });

  it('also destroys the key of a session past its sessionMaxAge', async () => {
    await p.auth.close();
    // Decades before every other test's keys, so that only this test's key is past retention.
    p = await testPlugin(
      db(),
      {
        refreshTokenTtl: 120 * 86_400,
        sessionMaxAge: 50 * 86_400,
        personalData: { retentionDays: 30 },
      },
      fakeClock(Date.UTC(1990 + round, 0, 20, 9, 0, 0)),
    );
    const ctx = request(DISTINCT.ips[0] as string, DISTINCT.agents[0] as string);
    await p.auth.issue(longLived, { source: 'saml', ctx });
    p.clock.advance(45 * DAY); // March 6th: January is past retention, the session lives on.
    expect(await p.auth.personalData.expire()).to.include({ destroyed: 0, kept: 1 });
    p.clock.advance(6 * DAY); // March 12th: the session ended on March 11th.
    expect(await p.auth.personalData.expire()).to.include({ destroyed: 1, kept: 0 });
  });

  it('also destroys the key of a session whose refresh token has expired', async () => {
    p.clock.advance(125 * DAY);
    expect(await p.auth.personalData.expire()).to.include({ destroyed: 2, kept: 0 });
    expect(await personalOf(longLived)).to.deep.equal(['expired']);
  });
});

describe('auth.personalData.expire() without retentionDays', () => {
  it('rejects with a ConfigError and destroys nothing', async () => {
    const p = await testPlugin(null);
    try {
      await p.auth.issue(ZELDA, { source: 'saml', ctx: request('192.0.2.1', 'X') });
      p.clock.advance(3650 * DAY);
      await expect(p.auth.personalData.expire())
        .to.be.rejectedWith(ConfigError)
        .and.eventually.have.property('code', 'ERR_CONFIG');
      const events = (await p.auth.audit.history({ sub: p.auth.subjectOf(ZELDA) })).events;
      expect(events[0]?.personal).to.equal('decrypted');
    } finally {
      await p.auth.close();
    }
  });
});
