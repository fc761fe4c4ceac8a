/**
 * GET /token/audit over HTTP: the audit scope, history filters and pages (oldest first, ISO times,
 * never a token), point-in-time answers with `at`, and 400 for every malformed parameter.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { bearer, get, startApp, type Reply, type TestApp } from '../support/http.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';

interface WireEvent {
  stream: string;
  seq: number;
  type: string;
  time: string;
  sub: string;
  jtis: string[];
  meta: Record<string, string>;
}

const eventsOf = (reply: Reply) => reply.body['events'] as WireEvent[];

describe('GET /token/audit [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  let auditor: string;
  let users = 0;

  const audit = (query: Record<string, string> | string, token = auditor) =>
    get(`${app.url}/token/audit?${new URLSearchParams(query).toString()}`, bearer(token));
  const newUser = () => ({ id: `u-audit-${++users}`, username: `audited${users}` });

  before(async () => {
    t = await openTestDatabase('routes_audit');
    p = await testPlugin(t.db);
    app = await startApp(p.auth);
    auditor = (await p.auth.issue(newUser(), { source: 'saml', scope: 'audit' })).access_token;
  });
  after(async () => {
    await app.close();
    await p.auth.close();
    await t.dispose();
  });

  it('answers 401 with WWW-Authenticate without a caller and 403 insufficient_scope without the audit scope', async () => {
    const missing = await get(`${app.url}/token/audit`);
    expect(missing.status).to.equal(401);
    expect(missing.headers.get('www-authenticate')).to.equal('Bearer');
    const plain = await p.auth.issue(newUser(), { source: 'saml', scope: 'introspection admin' });
    const forbidden = await audit({}, plain.access_token);
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body['error']).to.equal('insufficient_scope');
    expect(forbidden.headers.get('www-authenticate')).to.equal(
      'Bearer error="insufficient_scope", scope="audit"',
    );
  });

  it('answers a session’s history oldest first, with ISO times and no token in it', async () => {
    const pair = await p.auth.issue(newUser(), { source: 'password', method: 'form' });
    p.clock.advance(1000);
    const second = await p.auth.refresh(pair.refresh_token);
    p.clock.advance(1000);
    await p.auth.revoke(
      { jti: decodeJwt(second.access_token).jti! },
      { reason: 'logout', actor: 'x' },
    );
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const reply = await audit({ sid });
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('cache-control')).to.equal('no-store');
    expect(reply.body['next_cursor']).to.equal(null);
    const events = eventsOf(reply);
    expect(events.map((e) => [e.type, e.seq])).to.deep.equal([
      ['issued', 1],
      ['refreshed', 2],
      ['revoked', 3],
    ]);
    expect(events[0]!.time).to.equal(new Date(p.clock() - 2000).toISOString());
    expect(events[0]!.meta).to.include({ source: 'password', method: 'form' });
    expect(events[2]!.meta).to.include({ reason: 'logout', actor: 'x' });
    for (const token of [pair.access_token, pair.refresh_token, second.access_token]) {
      expect(reply.text).to.not.include(token.split('.')[2]!);
    }
  });

  it('filters by sub, jti and type, and by from and to as ISO date-times or epoch seconds', async () => {
    const user = newUser();
    const start = p.clock();
    const a = await p.auth.issue(user, { source: 'saml' });
    p.clock.advance(60_000);
    const b = await p.auth.issue(user, { source: 'saml' });
    p.clock.advance(60_000);
    await p.auth.refresh(b.refresh_token);
    const sub = decodeJwt(a.access_token).sub!;

    expect(eventsOf(await audit({ sub })).map((e) => e.type)).to.deep.equal([
      'issued',
      'issued',
      'refreshed',
    ]);
    expect(eventsOf(await audit({ sub, type: 'issued' }))).to.have.length(2);
    const byJti = eventsOf(await audit({ jti: decodeJwt(b.refresh_token).jti! }));
    expect(byJti.map((e) => e.type)).to.deep.equal(['issued', 'refreshed']);
    const middle = {
      sub,
      from: new Date(start + 30_000).toISOString(),
      to: String((start + 90_000) / 1000),
    };
    expect(eventsOf(await audit(middle)).map((e) => e.stream)).to.deep.equal([
      decodeJwt(b.access_token)['sid'],
    ]);
    // The same instant as start + 30 s, written with a +01:00 offset.
    const inParis = new Date(start + 30_000 + 3_600_000).toISOString().replace('Z', '+01:00');
    const offset = { sub, from: inParis };
    expect(eventsOf(await audit(offset))).to.have.length(2);
  });

  it('pages with limit and next_cursor until the last page', async () => {
    const user = newUser();
    for (let i = 0; i < 5; i++) {
      await p.auth.issue(user, { source: 'saml' });
      p.clock.advance(1000);
    }
    const sub = p.auth.subjectOf(user);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const reply: Reply = await audit({ sub, limit: '2', ...(cursor !== null && { cursor }) });
      expect(reply.status).to.equal(200);
      seen.push(...eventsOf(reply).map((e) => e.stream));
      cursor = reply.body['next_cursor'] as string | null;
      pages++;
    } while (cursor !== null);
    expect(pages).to.equal(3);
    expect(seen).to.deep.equal(eventsOf(await audit({ sub })).map((e) => e.stream));
    expect(new Set(seen).size).to.equal(5);
  });

  it('answers the state of a token and of a session at a point in time', async () => {
    const before = new Date(p.clock() - 1000).toISOString();
    const pair = await p.auth.issue(newUser(), { source: 'saml' });
    const jti = decodeJwt(pair.refresh_token).jti!;
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const issuedAt = String(p.clock() / 1000);
    p.clock.advance(5000);
    await p.auth.refresh(pair.refresh_token);
    const rotatedAt = new Date(p.clock()).toISOString();
    p.clock.advance(5000);
    await p.auth.revoke({ sid }, { reason: 'compromised', actor: 'security' });
    const revokedAt = new Date(p.clock()).toISOString();

    expect((await audit({ jti, at: before })).body).to.deep.equal({
      at: before,
      jti,
      status: 'unknown',
    });
    expect((await audit({ jti, at: issuedAt })).body).to.include({ status: 'active', sid });
    expect((await audit({ jti, at: rotatedAt })).body).to.include({ status: 'rotated' });
    const revoked = await audit({ jti, at: revokedAt });
    expect(revoked.body).to.include({ status: 'revoked', type: 'refresh' });
    expect(revoked.body['revocation']).to.include({ reason: 'compromised', scope: 'session' });
    expect((await audit({ sid, at: rotatedAt })).body).to.include({ sid, status: 'active' });
    expect((await audit({ sid, at: revokedAt })).body).to.include({ sid, status: 'revoked' });
  });

  it('answers 400 invalid_request for malformed parameters', async () => {
    const queries: (Record<string, string> | string)[] = [
      { limit: '0' },
      { limit: '501' },
      { limit: 'ten' },
      { limit: '-1' },
      { from: 'yesterday' },
      { to: '2026-01-15' },
      { from: '2026-13-45T99:00:00Z' },
      { to: '2026-02-30T00:00:00Z' },
      { type: 'deleted' },
      { cursor: 'not-a-cursor' },
      // A well-formed cursor whose time is past the end of the Date range.
      { cursor: Buffer.from(JSON.stringify([9e15, 'sid', 1])).toString('base64url') },
      { at: '2026-01-15T12:00:00Z' },
      { at: '2026-01-15T12:00:00Z', jti: 'a', sid: 'b' },
      'sub=a&sub=b',
      'sid[$ne]=x&sid=',
    ];
    for (const query of queries) {
      const reply = await audit(query);
      expect(reply.status, JSON.stringify(query)).to.equal(400);
      expect(reply.body['error']).to.equal('invalid_request');
      expect(reply.body['error_description']).to.be.a('string');
    }
  });
});
