/**
 * The curl examples of django-jwtconnect-auth's README and of this README's "HTTP
 * routes" section, replayed with fetch: same method, headers and body as the command line sends.
 * (`curl -d` without a Content-Type header sends application/x-www-form-urlencoded.)
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { pairOf, request, startApp, type TestApp } from '../support/http.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';

const FORM = 'application/x-www-form-urlencoded';

describe('curl examples [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;

  before(async () => {
    t = await openTestDatabase('routes_examples');
    p = await testPlugin(t.db);
    const login = {
      verifyPassword: (username: string, password: string) =>
        username === 'alice' && password === 'alice' ? ALICE : null,
    };
    app = await startApp(p.auth, { routes: { login } });
  });
  after(async () => {
    await app.close();
    await p.auth.close();
    await t.dispose();
  });

  describe("from django-jwtconnect-auth's README", () => {
    it("refreshes: curl -H 'Content-type: application/json; indent=4' -H 'Accept: application/json' -d '{\"token\":\"$REFRESH_TOKEN\"}' -X POST /token/refresh", async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const reply = await request(`${app.url}/token/refresh`, {
        method: 'POST',
        headers: { 'Content-type': 'application/json; indent=4', Accept: 'application/json' },
        body: `{"token":"${pair.refresh_token}"}`,
      });
      expect(reply.status).to.equal(200);
      expect(pairOf(reply).token_type).to.equal('Bearer');
    });

    it("introspects by jti: curl -H 'Content-type: application/json; indent=4' -H 'Accept: application/json' -d '{\"jti\":\"...\"}' -X POST /token/introspection -H 'Authorization: Bearer $ACCESS_TOKEN'", async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const jti = decodeJwt(pair.access_token).jti!;
      const reply = await request(`${app.url}/token/introspection`, {
        method: 'POST',
        headers: {
          'Content-type': 'application/json; indent=4',
          Accept: 'application/json',
          Authorization: `Bearer ${pair.access_token}`,
        },
        body: `{"jti":"${jti}"}`,
      });
      expect(reply.status).to.equal(200);
      expect(reply.body).to.include({ active: true, jti, username: 'alice', ttype: 'T' });
    });

    it('introspects by token: -H "Authorization: Bearer <access>" -d \'{"token": "<token>"}\' with a JSON content type', async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const reply = await request(`${app.url}/token/introspection`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${pair.access_token}`,
        },
        body: `{"token": "${pair.refresh_token}"}`,
      });
      expect(reply.body).to.include({ active: true, token_type: 'refresh_token' });
    });
  });

  describe('from the README', () => {
    it('refreshes with JSON: curl -X POST /token/refresh -H \'Content-Type: application/json\' -d "{\\"token\\": \\"$REFRESH_TOKEN\\"}"', async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const reply = await request(`${app.url}/token/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: `{"token": "${pair.refresh_token}"}`,
      });
      expect(pairOf(reply).expires_in).to.equal(1800);
    });

    it('refreshes with a form: curl -X POST /token/refresh -d grant_type=refresh_token -d "refresh_token=$REFRESH_TOKEN"', async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const reply = await request(`${app.url}/token/refresh`, {
        method: 'POST',
        headers: { 'Content-Type': FORM },
        body: `grant_type=refresh_token&refresh_token=${pair.refresh_token}`,
      });
      expect(pairOf(reply).token_type).to.equal('Bearer');
    });

    it('introspects by jti with a form: curl -X POST /token/introspection -H "Authorization: Bearer $ACCESS_TOKEN" -d "jti=$JTI"', async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const jti = decodeJwt(pair.refresh_token).jti!;
      const reply = await request(`${app.url}/token/introspection`, {
        method: 'POST',
        headers: { 'Content-Type': FORM, Authorization: `Bearer ${pair.access_token}` },
        body: `jti=${jti}`,
      });
      expect(reply.body).to.include({ active: true, jti });
    });

    it('revokes: curl -X POST /token/revocation -H "Authorization: Bearer $ACCESS_TOKEN" -d "token=$REFRESH_TOKEN"', async () => {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const reply = await request(`${app.url}/token/revocation`, {
        method: 'POST',
        headers: { 'Content-Type': FORM, Authorization: `Bearer ${pair.access_token}` },
        body: `token=${pair.refresh_token}`,
      });
      expect(reply.status).to.equal(200);
      expect(reply.text).to.equal('');
      const me = await request(`${app.url}/api/me`, {
        headers: { Authorization: `Bearer ${pair.access_token}` },
      });
      expect(me.status).to.equal(401);
    });

    it('reads the key set: curl /.well-known/jwks.json', async () => {
      const reply = await request(`${app.url}/.well-known/jwks.json`);
      expect(reply.body['keys']).to.have.length(1);
    });

    it('reads the audit log: curl -G /token/audit -H "Authorization: Bearer $AUDITOR_TOKEN" --data-urlencode "sid=$SID" -d limit=50, and with -d "jti=$JTI" -d at=...', async () => {
      const auditor = await p.auth.issue(ALICE, { source: 'saml', scope: 'audit' });
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const sid = decodeJwt(pair.access_token)['sid'] as string;
      const headers = { Authorization: `Bearer ${auditor.access_token}` };
      const history = await request(
        `${app.url}/token/audit?sid=${encodeURIComponent(sid)}&limit=50`,
        { headers },
      );
      expect(history.body['next_cursor']).to.equal(null);
      expect(history.body['events']).to.have.length(1);
      const jti = decodeJwt(pair.access_token).jti!;
      const at = new Date(p.clock()).toISOString();
      const pointInTime = await request(`${app.url}/token/audit?jti=${jti}&at=${at}`, { headers });
      expect(pointInTime.body).to.include({ jti, status: 'active', sid });
    });

    it('logs in: curl -X POST /token/login -H \'Content-Type: application/json\' -d \'{"username": "alice", "password": "alice"}\'', async () => {
      const reply = await request(`${app.url}/token/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{"username": "alice", "password": "alice"}',
      });
      expect(decodeJwt(pairOf(reply).access_token)).to.include({ username: 'alice' });
    });
  });
});
