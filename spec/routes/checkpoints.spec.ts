/**
 * GET /token/audit/checkpoints over HTTP: the audit scope, pages of signed checkpoints oldest
 * first, and 400 for malformed parameters.
 */
import { expect } from 'chai';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { bearer, get, startApp, type TestApp } from '../support/http.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';

describe('GET /token/audit/checkpoints [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  let auditor: string;
  let user: string;
  const list = (query: string, token = auditor) =>
    get(`${app.url}/token/audit/checkpoints${query}`, bearer(token));

  before(async () => {
    t = await openTestDatabase('routes_checkpoints');
    p = await testPlugin(t.db);
    app = await startApp(p.auth);
    auditor = (await p.auth.issue({ id: 'u-auditor' }, { source: 'saml', scope: 'audit' }))
      .access_token;
    user = (await p.auth.issue({ id: 'u-user' }, { source: 'saml' })).access_token;
    for (let i = 0; i < 3; i++) {
      p.clock.advance(60_000);
      await p.auth.audit.checkpoint();
    }
  });
  after(async () => {
    await app.close();
    await p.auth.close();
    await t.dispose();
  });

  it('lists signed checkpoints to the audit scope, oldest first, a page at a time', async () => {
    const first = await list('?limit=2');
    expect(first.status).to.equal(200);
    expect(first.headers.get('cache-control')).to.equal('no-store');
    const page = first.body['checkpoints'] as { seq: number; jws: string; claims: object }[];
    expect(page.map((c) => c.seq)).to.deep.equal([1, 2]);
    expect(page[0]?.claims).to.include({ iss: p.auth.config.issuer, streams: 2 });
    expect(first.body['next_after']).to.equal(2);
    const stored = await p.auth.audit.checkpoints();
    expect(page.map((c) => c.jws)).to.deep.equal(stored.slice(0, 2).map((c) => c.jws));
    const second = await list('?after=2&limit=2');
    expect((second.body['checkpoints'] as { seq: number }[]).map((c) => c.seq)).to.deep.equal([3]);
    expect(second.body['next_after']).to.equal(null);
  });

  it('answers 401 without a token and 403 without the audit scope', async () => {
    expect((await get(`${app.url}/token/audit/checkpoints`)).status).to.equal(401);
    const forbidden = await list('', user);
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body['error']).to.equal('insufficient_scope');
  });

  it('answers 400 invalid_request for a malformed after or limit', async () => {
    for (const query of ['?after=-1', '?limit=0', '?limit=1001', '?after=x', '?after=1&after=2']) {
      const reply = await list(query);
      expect(reply.status, query).to.equal(400);
      expect(reply.body['error'], query).to.equal('invalid_request');
    }
  });
});
