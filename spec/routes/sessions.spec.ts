/**
 * GET / DELETE /token/sessions over HTTP: a caller's own sessions, the admin scope for others',
 * the 401s of the caller, and the attacks: another subject's sessions can be neither seen nor
 * ended without the admin scope, and trying changes nothing.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import type { TestDatabase } from '../support/db.js';
import { oneInstance } from '../support/instances.js';
import {
  bearer,
  get,
  request,
  startApp,
  type HeaderMap,
  type Reply,
  type TestApp,
} from '../support/http.js';
import { ADMIN, ALICE, BOB, type TestPlugin } from '../support/plugin.js';

const sidOf = (pair: TokenResponse) => decodeJwt(pair.access_token)['sid'] as string;
const del = (url: string, headers: HeaderMap = {}) => request(url, { method: 'DELETE', headers });
const ADMIN_SCOPE = 'introspection audit admin';

describe('/token/sessions [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  let url: string;
  let close: () => Promise<void>;

  const events = () => t.db.collection('jwtconnect_events').countDocuments();
  const me = async (pair: TokenResponse) =>
    (await get(`${app.url}/api/me`, bearer(pair.access_token))).status;
  const listed = (reply: Reply) =>
    (reply.body['sessions'] as { sid: string }[]).map((session) => session.sid);

  before(async () => {
    ({ t, p, app, close } = await oneInstance('routes_sessions'));
    url = `${app.url}/token/sessions`;
  });
  after(() => close());

  it("lists the caller's own live sessions, marking the current one, never cached", async () => {
    const headers = { 'user-agent': 'Spec/1.0' };
    const older = await p.auth.issue(ALICE, { source: 'saml', method: 'idp', scope: 'read' });
    p.clock.advance(1000);
    const caller = await p.auth.issue(ALICE, { source: 'password' });
    await p.auth.issue(BOB, { source: 'password' });
    const reply = await get(url, { ...bearer(caller.access_token), ...headers });
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('cache-control')).to.equal('no-store');
    const sessions = reply.body['sessions'] as Record<string, unknown>[];
    expect(sessions.map((s) => [s['sid'], s['current']])).to.deep.equal([
      [sidOf(caller), true],
      [sidOf(older), false],
    ]);
    expect(sessions[1]).to.deep.equal({
      sid: sidOf(older),
      current: false,
      created_at: new Date(p.clock() - 1000).toISOString(),
      refreshed_at: null,
      expires_at: new Date(p.clock() - 1000 + 3600_000).toISOString(),
      login: { source: 'saml', method: 'idp' },
      client: {},
      scope: 'read',
    });
  });

  it('answers 401 without a valid access token: none, garbage, a refresh token, a revoked one', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'password' });
    const missing = await get(url);
    expect(missing.status).to.equal(401);
    expect(missing.headers.get('www-authenticate')).to.equal('Bearer');
    const attempts = [bearer('garbage'), bearer(pair.refresh_token)];
    await p.auth.revoke({ jti: decodeJwt(pair.access_token)['jti'] as string });
    attempts.push(bearer(pair.access_token));
    for (const headers of attempts) {
      const reply = await get(url, headers);
      expect(reply.status).to.equal(401);
      expect(reply.body['error']).to.equal('invalid_token');
      expect((await del(url, headers)).status).to.equal(401);
      expect((await del(`${url}/${sidOf(pair)}`, headers)).status).to.equal(401);
    }
  });

  it("ends one of the caller's sessions, recording the caller as actor", async () => {
    const caller = await p.auth.issue(ALICE, { source: 'password' });
    const other = await p.auth.issue(ALICE, { source: 'password' });
    const reply = await del(
      `${url}/${sidOf(other)}?reason=lost+phone`,
      bearer(caller.access_token),
    );
    expect(reply.status).to.equal(200);
    expect(reply.body).to.deep.equal({ sid: sidOf(other), revoked: true });
    expect(await me(other)).to.equal(401);
    expect(await me(caller)).to.equal(200);
    const [event] = (await p.auth.audit.history({ sid: sidOf(other), type: 'revoked' })).events;
    expect(event!.meta).to.include({ actor: p.auth.subjectOf(ALICE), reason: 'lost phone' });
    const again = await del(`${url}/${sidOf(other)}`, bearer(caller.access_token));
    expect(again.body).to.deep.equal({ sid: sidOf(other), revoked: false });
  });

  it("ends all the caller's other sessions and keeps the caller's own", async () => {
    const dave = { id: 'u-dave', username: 'dave' };
    const [one, two] = [
      await p.auth.issue(dave, { source: 'password' }),
      await p.auth.issue(dave, { source: 'password' }),
    ];
    const caller = await p.auth.issue(dave, { source: 'password' });
    const alice = await p.auth.issue(ALICE, { source: 'password' });
    const reply = await del(url, bearer(caller.access_token));
    expect(reply.status).to.equal(200);
    expect(reply.body['revoked']).to.have.members([sidOf(one), sidOf(two)]);
    expect([await me(one), await me(two), await me(caller), await me(alice)]).to.deep.equal([
      401, 401, 200, 200,
    ]);
    const [event] = (await p.auth.audit.history({ sid: sidOf(one), type: 'revoked' })).events;
    expect(event!.meta).to.include({ actor: p.auth.subjectOf(dave), reason: 'revoked_by_user' });
    expect(listed(await get(url, bearer(caller.access_token)))).to.deep.equal([sidOf(caller)]);
  });

  describe('attacks: another subject without the admin scope', () => {
    it("cannot list another subject's sessions (403) and learns nothing of them", async () => {
      const attacker = await p.auth.issue(BOB, { source: 'password', scope: 'introspection' });
      await p.auth.issue(ALICE, { source: 'password' });
      const sub = encodeURIComponent(p.auth.subjectOf(ALICE));
      const reply = await get(`${url}?sub=${sub}`, bearer(attacker.access_token));
      expect(reply.status).to.equal(403);
      expect(reply.body['error']).to.equal('insufficient_scope');
      expect(reply.text).to.not.include('sid');
    });

    it("cannot end another subject's session: 404 as for an unknown one, nothing recorded", async () => {
      const attacker = await p.auth.issue(BOB, { source: 'password' });
      const victim = await p.auth.issue(ALICE, { source: 'password' });
      const before = await events();
      const theirs = await del(`${url}/${sidOf(victim)}`, bearer(attacker.access_token));
      const unknown = await del(`${url}/no-such-session`, bearer(attacker.access_token));
      expect(theirs.status).to.equal(404);
      expect(theirs.body).to.deep.equal({
        error: 'not_found',
        error_description: 'no such session',
      });
      expect(unknown.status).to.equal(404);
      expect(unknown.body).to.deep.equal(theirs.body);
      expect(await events()).to.equal(before);
      expect(await me(victim)).to.equal(200);
    });

    it("cannot end all of another subject's sessions (403), nothing recorded", async () => {
      const attacker = await p.auth.issue(BOB, { source: 'password' });
      const victim = await p.auth.issue(ALICE, { source: 'password' });
      const before = await events();
      const sub = encodeURIComponent(p.auth.subjectOf(ALICE));
      const reply = await del(`${url}?sub=${sub}`, bearer(attacker.access_token));
      expect(reply.status).to.equal(403);
      expect(await events()).to.equal(before);
      expect(await me(victim)).to.equal(200);
    });

    it('refuses repeated, oversized and control-character parameters with 400, changing nothing', async () => {
      const caller = await p.auth.issue(BOB, { source: 'password' });
      const before = await events();
      for (const query of [
        'sub=a&sub=b',
        `sub=${'x'.repeat(600)}`,
        `reason=${'r'.repeat(201)}`,
        'reason=%0Anewline',
      ]) {
        const listing = await get(`${url}?${query}`, bearer(caller.access_token));
        expect(listing.status, query).to.equal(400);
        expect(listing.body['error'], query).to.equal('invalid_request');
        expect((await del(`${url}?${query}`, bearer(caller.access_token))).status).to.equal(400);
      }
      const long = await del(`${url}/${'s'.repeat(600)}`, bearer(caller.access_token));
      expect(long.status).to.equal(400);
      expect(await events()).to.equal(before);
    });
  });

  describe('with the admin scope', () => {
    it("lists and ends any subject's sessions, recording the admin as actor", async () => {
      const admin = await p.auth.issue(ADMIN, { source: 'password', scope: ADMIN_SCOPE });
      const user = { id: 'u-carol', username: 'carol' };
      const [one, two] = [
        await p.auth.issue(user, { source: 'password' }),
        await p.auth.issue(user, { source: 'saml' }),
      ];
      const sub = encodeURIComponent(p.auth.subjectOf(user));
      const list = await get(`${url}?sub=${sub}`, bearer(admin.access_token));
      expect(list.status).to.equal(200);
      expect(listed(list)).to.have.members([sidOf(one), sidOf(two)]);

      const single = await del(`${url}/${sidOf(one)}`, bearer(admin.access_token));
      expect(single.body).to.deep.equal({ sid: sidOf(one), revoked: true });
      const [event] = (await p.auth.audit.history({ sid: sidOf(one), type: 'revoked' })).events;
      expect(event!.meta).to.include({
        actor: p.auth.subjectOf(ADMIN),
        reason: 'revoked_by_admin',
      });

      const all = await del(`${url}?sub=${sub}&reason=offboarded`, bearer(admin.access_token));
      expect(all.body).to.deep.equal({ revoked: [sidOf(two)] });
      expect([await me(one), await me(two), await me(admin)]).to.deep.equal([401, 401, 200]);
      // Events at the same instant are ordered by stream id, so find the cut-off by its reason.
      const cut = await p.auth.audit.history({ sub: p.auth.subjectOf(user), type: 'revoked' });
      const offboarded = cut.events.filter((event) => event.meta.reason === 'offboarded');
      expect(offboarded).to.have.length(1);
      expect(offboarded[0]!.meta).to.include({ actor: p.auth.subjectOf(ADMIN) });
      expect(listed(await get(`${url}?sub=${sub}`, bearer(admin.access_token)))).to.deep.equal([]);
    });
  });

  it('can be moved or turned off with paths.sessions', async () => {
    const moved = await startApp(p.auth, { routes: { paths: { sessions: '/my/sessions' } } });
    const off = await startApp(p.auth, { routes: { paths: { sessions: false } } });
    try {
      const pair = await p.auth.issue(ALICE, { source: 'password' });
      expect((await get(`${moved.url}/my/sessions`, bearer(pair.access_token))).status).to.equal(
        200,
      );
      expect((await get(`${off.url}/token/sessions`, bearer(pair.access_token))).status).to.equal(
        404,
      );
    } finally {
      await moved.close();
      await off.close();
    }
  });
});
