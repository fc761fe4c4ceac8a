/**
 * A refresh token works once, under contention: one refresh token raced by 20 concurrent requests
 * through two app instances sharing one database, 100 times over. The policy proved here, and
 * written down in SECURITY.md "Refresh token rotation":
 *
 * - exactly one request of a round rotates the token and gets the new pair; exactly one `refreshed`
 *   event is appended per round (the unique (stream, seq) index decides, not a process lock);
 * - every other request of the round gets 400 `invalid_grant` and changes nothing: a spent token
 *   presented within `refreshReuseGrace` seconds of its rotation is a request that lost the race;
 * - the same spent token presented later than the grace is reuse: the session is revoked, once,
 *   with reason `refresh_token_reuse`, on every instance.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Db } from 'mongodb';
import { fakeClock, type FakeClock } from '../support/clock.js';
import type { TestDatabase } from '../support/db.js';
import { bearer, get, pairOf, postJson, type Reply, type TestApp } from '../support/http.js';
import { raceRefresh, twoInstances, type TwoInstances } from '../support/instances.js';
import { ALICE, type TestPlugin } from '../support/plugin.js';

/**
 * 100 rounds take about 100 s on the FerretDB (SQLite) test server of this repository's CI, where
 * every query scans its collection (README "Reliability"), so `npm test` runs 25 and
 * `npm run test:race` runs the full 100 (RACE_ROUNDS sets any number).
 */
const ROUNDS = Number(process.env['RACE_ROUNDS'] ?? 25);
const PARALLEL = 20;
const GRACE_SECONDS = 2;

function eventCount(db: Db, sid: string, type: string): Promise<number> {
  return db.collection('jwtconnect_events').countDocuments({ stream: sid, type });
}

function expectInvalidGrant(reply: Reply, what: string): void {
  expect(reply.status, what).to.equal(400);
  expect(reply.body['error'], what).to.equal('invalid_grant');
  expect(reply.text, what).to.not.include('eyJ');
}

describe('refresh races through two instances on one database [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let clock: FakeClock;
  let one: TestPlugin;
  let apps: TestApp[];
  let instances: TwoInstances;

  before(async () => {
    clock = fakeClock();
    instances = await twoInstances('hardening_race', { refreshReuseGrace: GRACE_SECONDS }, clock);
    ({ t, one, apps } = instances);
  });
  after(() => instances.close());

  const race = (token: string) => raceRefresh(apps, token, PARALLEL);

  it(`lets exactly one of ${PARALLEL} concurrent refreshes win in each of ${ROUNDS} rounds, with one event each, and revokes only on a later reuse`, async function () {
    this.timeout(Math.max(60_000, ROUNDS * 3000));
    let pair = await one.auth.issue(ALICE, { source: 'saml' });
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const spent: string[] = [];

    for (let round = 1; round <= ROUNDS; round++) {
      // Each round a little later, so rotations are apart in time as they are in real use.
      clock.advance(1000);
      const token = pair.refresh_token;
      const replies = await race(token);
      const winners = replies.filter((reply) => reply.status === 200);
      expect(winners, `round ${round}: winners`).to.have.length(1);
      for (const loser of replies.filter((reply) => reply.status !== 200)) {
        expectInvalidGrant(loser, `round ${round}: a loser`);
      }
      expect(await eventCount(t.db, sid, 'refreshed'), `round ${round}: events`).to.equal(round);
      spent.push(token);
      pair = pairOf(winners[0]!);
    }
    expect(await eventCount(t.db, sid, 'revoked'), 'no revocation from the races').to.equal(0);
    for (const app of apps) {
      expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(200);
    }

    // The last spent token, exactly at the end of the grace: still a lost race, nothing revoked.
    const last = spent.at(-1)!;
    clock.advance(GRACE_SECONDS * 1000);
    expectInvalidGrant(await postJson(`${apps[0]!.url}/token/refresh`, { token: last }), 'grace');
    expect(await eventCount(t.db, sid, 'revoked'), 'within the grace').to.equal(0);

    // One millisecond later it is reuse, by 20 clients at once: the session is revoked exactly once.
    clock.advance(1);
    for (const reply of await race(last)) expectInvalidGrant(reply, 'reuse');
    const revoked = await t.db
      .collection('jwtconnect_events')
      .find({ stream: sid, type: 'revoked' })
      .toArray();
    expect(revoked, 'one revocation').to.have.length(1);
    expect(revoked[0]!['meta']).to.include({ reason: 'refresh_token_reuse', actor: 'system' });
    expect(revoked[0]!['target']).to.deep.equal({ kind: 'session' });

    // Every instance now refuses the session's newest tokens.
    for (const app of apps) {
      expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(401);
      const refresh = await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token });
      expectInvalidGrant(refresh, 'after the reuse');
    }
    expect(await eventCount(t.db, sid, 'refreshed')).to.equal(ROUNDS);
    expect(await eventCount(t.db, sid, 'issued')).to.equal(1);
    expect((await one.auth.audit.verify()).ok).to.equal(true);
  });
});
