/**
 * No token without its recorded event, at the routes: with the store unreachable every route that
 * needs it fails closed with 503 and `Retry-After`, no token leaves the server, and nothing is
 * spent: once the store is back, the same refresh token still works.
 */
import { expect } from 'chai';
import { ledgerOf } from '../../lib/internals.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import {
  bearer,
  get,
  pairOf,
  postJson,
  startApp,
  type Reply,
  type TestApp,
} from '../support/http.js';
import { ADMIN, ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';

function expectUnavailable(reply: Reply, what: string): void {
  expect(reply.status, what).to.equal(503);
  expect(reply.headers.get('retry-after'), what).to.equal('5');
  expect(reply.headers.get('cache-control'), what).to.equal('no-store');
  expect(reply.body, what).to.deep.equal({
    error: 'temporarily_unavailable',
    error_description: 'the service is temporarily unavailable',
  });
}

describe('routes with the store unreachable [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;

  before(async () => {
    t = await openTestDatabase('routes_store_down');
    p = await testPlugin(null, {
      store: {
        mongo: { uri: testServerUri(), dbName: t.db.databaseName, serverSelectionTimeoutMS: 500 },
      },
    });
    const login = { verifyPassword: (username: string) => ({ id: username, username }) };
    app = await startApp(p.auth, { routes: { login } });
  });
  after(async () => {
    await app.close();
    await p.auth.close();
    await t.dispose();
  });

  it('answers 503 with Retry-After and no token on every route that needs the store, and spends nothing', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const admin = await p.auth.issue(ADMIN, { source: 'saml', scope: 'introspection audit admin' });
    const events = await t.db.collection('jwtconnect_events').countDocuments();

    await ledgerOf(p.auth).store.close();
    const replies: [string, Reply][] = [
      ['refresh', await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token })],
      [
        'revocation',
        await postJson(
          `${app.url}/token/revocation`,
          { token: pair.refresh_token },
          bearer(admin.access_token),
        ),
      ],
      [
        'introspection',
        await postJson(
          `${app.url}/token/introspection`,
          { token: pair.access_token },
          bearer(admin.access_token),
        ),
      ],
      ['audit', await get(`${app.url}/token/audit?sub=x`, bearer(admin.access_token))],
      ['sessions', await get(`${app.url}/token/sessions`, bearer(admin.access_token))],
      ['login', await postJson(`${app.url}/token/login`, { username: 'carol', password: 'pw' })],
      ['/api/me', await get(`${app.url}/api/me`, bearer(pair.access_token))],
    ];
    for (const [what, reply] of replies) {
      expectUnavailable(reply, what);
      expect(reply.text, what).to.not.include('eyJ');
    }
    // The key set needs no store.
    expect((await get(`${app.url}/.well-known/jwks.json`)).status).to.equal(200);

    await ledgerOf(p.auth).open();
    expect(await t.db.collection('jwtconnect_events').countDocuments()).to.equal(events);
    expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(200);
    const refreshed = await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token });
    expect(pairOf(refreshed).token_type).to.equal('Bearer');
    const login = await postJson(`${app.url}/token/login`, { username: 'carol', password: 'pw' });
    expect(login.status).to.equal(200);
  });
});
