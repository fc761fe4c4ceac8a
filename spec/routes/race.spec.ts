/**
 * A refresh token works once, across instances: of many concurrent refreshes of one token through
 * two apps that share the database, exactly one succeeds, and the losers (within the reuse grace)
 * leave the winner's session alone. Decided by the ledger's unique (stream, seq), not by any
 * process lock.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { fakeClock } from '../support/clock.js';
import { bearer, get, pairOf, postJson } from '../support/http.js';
import { raceRefresh, twoInstances, type TwoInstances } from '../support/instances.js';
import { ALICE } from '../support/plugin.js';

const ROUNDS = 25;
const PARALLEL = 20;

describe('concurrent refreshes through two apps [MongoDB, HTTP]', () => {
  let instances: TwoInstances;

  before(async () => {
    instances = await twoInstances('routes_race', {}, fakeClock());
  });
  after(() => instances.close());

  it(`lets exactly one of ${PARALLEL} parallel refreshes win in each of ${ROUNDS} rounds`, async function () {
    this.timeout(60_000);
    const { one, two, apps } = instances;
    let pair = await one.auth.issue(ALICE, { source: 'saml' });
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    for (let round = 1; round <= ROUNDS; round++) {
      const token = pair.refresh_token;
      const replies = await raceRefresh(apps, token, PARALLEL);
      const winners = replies.filter((reply) => reply.status === 200);
      const losers = replies.filter((reply) => reply.status !== 200);
      expect(winners, `round ${round}`).to.have.length(1);
      for (const loser of losers) {
        expect(loser.status, `round ${round}`).to.equal(400);
        expect(loser.body['error']).to.equal('invalid_grant');
        expect(loser.text).to.not.include('eyJ');
      }
      pair = pairOf(winners[0]!);

      const events = await two.auth.audit.history({ sid, type: 'refreshed', limit: 500 });
      expect(events.events, `round ${round}`).to.have.length(round);
      // The winner's tokens work on both instances: the losers revoked nothing.
      for (const app of apps) {
        expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(200);
      }
    }
    const final = await postJson(`${apps[1]!.url}/token/refresh`, { token: pair.refresh_token });
    expect(final.status).to.equal(200);
    const types = (await one.auth.audit.history({ sid, limit: 500 })).events.map((e) => e.type);
    expect(types.filter((type) => type === 'revoked')).to.deep.equal([]);
  });
});
