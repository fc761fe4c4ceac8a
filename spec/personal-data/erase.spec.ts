import * as chai from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt } from 'jose';
import { InvalidGrantError, InvalidTokenError, LedgerInputError } from '../../lib/errors.js';
import type { AuditEvent } from '../../lib/ledger/events.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { DISTINCT, ZELDA, onBothStores, request } from './support.js';

chai.use(chaiAsPromised);
const { expect } = chai;

/** What history keeps after an erasure: types, times, streams, token ids and the opaque sub. */
function shape(events: readonly AuditEvent[]) {
  return events.map(({ type, time, stream, seq, sub, jtis, hash }) => ({
    type,
    time,
    stream,
    seq,
    sub,
    jtis,
    hash,
  }));
}

onBothStores('auth.erase()', (db) => {
  let p: TestPlugin;
  // A user of their own per test: tests share a database, and an erasure is for good.
  let user: typeof ZELDA;
  let round = 0;
  let sub: string;
  let tokens: { access_token: string; refresh_token: string }[];
  let before: AuditEvent[];
  beforeEach(async () => {
    p = await testPlugin(db());
    user = { ...ZELDA, id: `${ZELDA.id}-${(round += 1)}` };
    sub = p.auth.subjectOf(user);
    const [ip] = DISTINCT.ips as [string];
    const [agent] = DISTINCT.agents as [string];
    const first = await p.auth.issue(user, { source: 'saml', ctx: request(ip, agent) });
    p.clock.advance(60_000);
    const rotated = await p.auth.refresh(first.refresh_token, request(ip, agent));
    const other = await p.auth.issue(user, { source: 'password', ctx: request(ip, agent) });
    await p.auth.issue(ALICE, { source: 'saml', ctx: request(ip, agent) });
    tokens = [rotated, other];
    before = (await p.auth.audit.history({ sub })).events;
    p.clock.advance(60_000);
  });
  afterEach(async () => {
    await p.auth.close();
  });

  it('leaves a clean, rebuildable ledger whose history keeps its shape and reads as erased', async () => {
    const result = await p.auth.erase(user, { actor: 'dpo', reason: 'gdpr_request' });
    expect(result).to.include({ sub, erased: true, keysDestroyed: 1 });
    expect((await p.auth.audit.verify()).ok).to.equal(true);
    expect((await p.auth.audit.rebuild({ dryRun: true })).differences).to.deep.equal([]);

    const after = (await p.auth.audit.history({ sub })).events;
    expect(shape(after.slice(0, before.length))).to.deep.equal(shape(before));
    for (const event of after.slice(0, before.length)) {
      expect(event.personal).to.equal('erased');
      expect(event.meta).to.not.have.any.keys('ip', 'userAgent');
      expect(event).to.not.have.property('claims');
    }
    const added = after.slice(before.length).map((event) => event.type);
    expect(added).to.deep.equal(['revoked', 'erased']);
    expect(after.at(-1)).to.deep.include({
      type: 'erased',
      meta: { actor: 'dpo', reason: 'gdpr_request' },
    });
    expect(JSON.stringify(after)).to.not.include(DISTINCT.email).and.not.include(DISTINCT.ips[0]);
  });

  it("refuses the subject's refresh tokens and access tokens from then on", async () => {
    await p.auth.erase({ sub }, { actor: 'dpo' });
    for (const pair of tokens) {
      await expect(p.auth.refresh(pair.refresh_token))
        .to.be.rejectedWith(InvalidGrantError)
        .and.eventually.have.property('code', 'ERR_INVALID_GRANT');
      await expect(p.auth.tokens.verify(pair.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.have.property('reason', 'revoked');
    }
  });

  it("leaves other subjects' sessions and personal data alone", async () => {
    await p.auth.erase(user);
    const alice = (await p.auth.audit.history({ sub: p.auth.subjectOf(ALICE) })).events;
    expect(alice).to.not.be.empty;
    for (const event of alice) {
      expect(event.personal).to.equal('decrypted');
      expect(event.meta.ip).to.equal(DISTINCT.ips[0]);
    }
  });

  it('does nothing the second time: no event, no key, erased false', async () => {
    await p.auth.erase(user);
    const count = (await p.auth.audit.history({ sub })).events.length;
    expect(await p.auth.erase(user)).to.deep.equal({ sub, erased: false, keysDestroyed: 0 });
    expect((await p.auth.audit.history({ sub })).events).to.have.length(count);
  });

  it('lets the user log in again afterwards, with new personal data that reads in clear', async () => {
    await p.auth.erase(user);
    p.clock.advance(2000);
    const again = await p.auth.issue(user, { source: 'saml', ctx: request('192.0.2.9', 'X/1') });
    p.clock.advance(60_000);
    const rotated = await p.auth.refresh(again.refresh_token);
    expect(decodeJwt(rotated.access_token)).to.include({ email: DISTINCT.email });
    const last = (await p.auth.audit.history({ sub, type: 'issued' })).events.at(-1);
    expect(last).to.deep.include({ personal: 'decrypted' });
    expect(last?.meta.ip).to.equal('192.0.2.9');
    // Erasing again now has something to erase.
    expect(await p.auth.erase(user)).to.include({ erased: true, keysDestroyed: 1 });
  });

  it('never leaves a refreshable session when refreshes race the erasure', async () => {
    const racing = tokens.flatMap((pair) => [pair.refresh_token, pair.refresh_token]);
    const results = await Promise.allSettled([
      ...racing.map((token) => p.auth.refresh(token)),
      p.auth.erase(user),
      ...racing.map((token) => p.auth.refresh(token)),
    ]);
    const erasure = results[racing.length];
    expect(erasure?.status).to.equal('fulfilled');
    const issued = results.flatMap((result) =>
      result.status === 'fulfilled' &&
      typeof result.value === 'object' &&
      'refresh_token' in result.value
        ? [result.value]
        : [],
    );
    p.clock.advance(1000);
    for (const pair of [...tokens, ...issued]) {
      await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
      await expect(p.auth.tokens.verify(pair.access_token)).to.be.rejectedWith(InvalidTokenError);
    }
    expect((await p.auth.audit.verify()).ok).to.equal(true);
    expect((await p.auth.audit.rebuild({ dryRun: true })).differences).to.deep.equal([]);
  });

  it('refuses a target that is neither a user nor { sub }, and a non-string reason', async () => {
    await expect(p.auth.erase(null as never)).to.be.rejectedWith(LedgerInputError);
    await expect(p.auth.erase({ sub: { $ne: null } } as never)).to.be.rejectedWith(
      LedgerInputError,
    );
    await expect(p.auth.erase(user, { reason: 42 as never })).to.be.rejectedWith(LedgerInputError);
    expect((await p.auth.audit.history({ sub })).events).to.have.length(before.length);
  });
});
