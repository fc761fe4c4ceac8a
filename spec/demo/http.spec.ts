import { expect } from 'chai';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import {
  postAssertion,
  ssoAssertion,
  startDemo,
  textareaValue,
  type RunningDemo,
} from './support.js';

interface TokenPair {
  access_token: string;
  refresh_token: string;
  token_type: string;
  scope?: string;
}

describe('demo app over HTTP [MongoDB]', () => {
  let demo: RunningDemo;

  before(async () => {
    demo = await startDemo('demo_http');
  });
  after(async () => {
    await demo.close();
  });

  const login = (body: Record<string, string>, form = false) =>
    fetch(`${demo.url}/login`, {
      method: 'POST',
      headers: form ? {} : { 'Content-Type': 'application/json' },
      body: form ? new URLSearchParams(body) : JSON.stringify(body),
    });
  const me = (token?: string) =>
    fetch(`${demo.url}/api/me`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  const eventsOf = async (sub: string) =>
    (await demo.auth.audit.history({ sub })).events.map((e) => [e.type, e.meta.source]);
  const subOf = (username: string) => demo.auth.subjectOf({ id: `u-${username}`, username });

  describe('POST /login', () => {
    it('answers a token pair for the right password [JSON]', async () => {
      const response = await login({ username: 'alice', password: 'alice' });
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const pair = (await response.json()) as TokenPair;
      expect(pair.token_type).to.equal('Bearer');
      expect(decodeJwt(pair.access_token)).to.include({ username: 'alice', given_name: 'Alice' });
      expect(decodeJwt(pair.access_token)).to.not.have.property('scope');
      expect(decodeProtectedHeader(pair.access_token)).to.include({ alg: 'ES256', typ: 'at+jwt' });
    });

    it('answers a token pair for the right password [form]', async () => {
      const response = await login({ username: 'bob', password: 'bob' }, true);
      expect(response.status).to.equal(200);
      expect(decodeJwt(((await response.json()) as TokenPair).access_token)).to.include({
        username: 'bob',
      });
      expect(await eventsOf(subOf('bob'))).to.deep.equal([['issued', 'password']]);
    });

    it("gives admin's tokens the introspection, audit and admin scopes", async () => {
      const pair = (await (
        await login({ username: 'admin', password: 'admin' })
      ).json()) as TokenPair;
      expect(pair.scope).to.equal('introspection audit admin');
      expect(decodeJwt(pair.access_token)['scope']).to.equal('introspection audit admin');
    });

    it('answers 401 invalid_grant alike to a wrong password and an unknown user, 400 to no fields', async () => {
      const before = (await demo.auth.audit.history({ limit: 500 })).events.length;
      for (const body of [
        { username: 'alice', password: 'bob' },
        { username: 'eve', password: 'eve' },
      ]) {
        const response = await login(body);
        expect(response.status).to.equal(401);
        expect(await response.json()).to.deep.equal({
          error: 'invalid_grant',
          error_description: 'the username or password is not correct',
        });
      }
      const empty = await login({});
      expect(empty.status).to.equal(400);
      expect(await empty.json()).to.include({ error: 'invalid_request' });
      expect((await demo.auth.audit.history({ limit: 500 })).events).to.have.length(before);
    });

    it('throttles the form: after five wrong passwords for a user, 429 even for the right one', async () => {
      for (let i = 0; i < 5; i++) {
        expect((await login({ username: 'bob', password: `guess${i}` })).status).to.equal(401);
      }
      const throttled = await login({ username: 'bob', password: 'bob' }, true);
      expect(throttled.status).to.equal(429);
      expect(throttled.headers.get('retry-after')).to.equal('900');
      expect(await throttled.json()).to.include({ error: 'slow_down' });
      demo.clock.advance(900_000);
      expect((await login({ username: 'bob', password: 'bob' })).status).to.equal(200);
    });
  });

  describe('GET /api/me', () => {
    it('answers the claims of a valid access token', async () => {
      const pair = (await (
        await login({ username: 'alice', password: 'alice' })
      ).json()) as TokenPair;
      const response = await me(pair.access_token);
      expect(response.status).to.equal(200);
      expect(await response.json()).to.include({ username: 'alice', sub: subOf('alice') });
    });

    it('answers 401 with a Bearer challenge without a token, or with a garbage or refresh token', async () => {
      const pair = (await (
        await login({ username: 'alice', password: 'alice' })
      ).json()) as TokenPair;
      const missing = await me();
      expect(missing.status).to.equal(401);
      expect(missing.headers.get('www-authenticate')).to.equal('Bearer');
      for (const token of ['garbage', pair.refresh_token]) {
        const response = await me(token);
        expect(response.status).to.equal(401);
        expect(response.headers.get('www-authenticate')).to.match(/^Bearer error="invalid_token"/);
      }
    });

    it('answers 401 once the session is revoked', async () => {
      const pair = (await (
        await login({ username: 'alice', password: 'alice' })
      ).json()) as TokenPair;
      await demo.auth.revoke({ sid: decodeJwt(pair.access_token)['sid'] as string });
      expect((await me(pair.access_token)).status).to.equal(401);
    });
  });

  describe('simulated SSO (/sso/idp -> /sso/acs)', () => {
    it('signs a user in from the IdP assertion and records the login as saml / demo-idp', async () => {
      const response = await postAssertion(demo.url, await ssoAssertion(demo.url, 'admin'));
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-store');
      const html = await response.text();
      const access = textareaValue(html, 'access-token');
      expect(access, 'access token on the page').to.be.a('string');
      expect(decodeJwt(access!)).to.include({
        username: 'admin',
        scope: 'introspection audit admin',
      });
      expect((await me(access)).status).to.equal(200);
      const sid = decodeJwt(access!)['sid'] as string;
      const [issued] = (await demo.auth.audit.history({ sid })).events;
      expect(issued!.meta).to.include({ source: 'saml', method: 'demo-idp' });
    });

    const refused = async (response: Response) => {
      expect(response.status).to.equal(401);
      return /<p id="refused">([^<]*)<\/p>/.exec(await response.text())?.[1];
    };

    it('refuses an assertion signed by another key [forged] and issues nothing', async () => {
      const real = decodeJwt(await ssoAssertion(demo.url, 'bob'));
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ ...real, sub: 'admin', jti: 'forged-1' })
        .setProtectedHeader({ alg: 'ES256', typ: 'demo-assertion+jwt' })
        .sign(privateKey);
      const before = await eventsOf(subOf('admin'));
      expect(await refused(await postAssertion(demo.url, forged))).to.include('signature');
      expect(await eventsOf(subOf('admin'))).to.deep.equal(before);
    });

    it('refuses an assertion whose claims were changed after signing [tampered]', async () => {
      const [header, , signature] = (await ssoAssertion(demo.url, 'bob')).split('.');
      const claims = { ...decodeJwt(await ssoAssertion(demo.url, 'bob')), sub: 'admin' };
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      const tampered = `${header}.${payload}.${signature}`;
      expect(await refused(await postAssertion(demo.url, tampered))).to.include('signature');
    });

    it('refuses an expired assertion', async () => {
      const assertion = await ssoAssertion(demo.url, 'bob');
      demo.clock.advance(2 * 60_000);
      expect(await refused(await postAssertion(demo.url, assertion))).to.include('expired');
    });

    it('refuses an assertion used a second time [replayed]', async () => {
      const assertion = await ssoAssertion(demo.url, 'bob');
      expect((await postAssertion(demo.url, assertion)).status).to.equal(200);
      expect(await refused(await postAssertion(demo.url, assertion))).to.include('already used');
    });

    it('refuses a post without an assertion or with garbage', async () => {
      expect(await refused(await postAssertion(demo.url, ''))).to.include('no assertion');
      expect(await refused(await postAssertion(demo.url, 'not.a.jwt'))).to.include('malformed');
    });
  });

  describe('pages and demo-only routes', () => {
    it('serves every page with a strict Content-Security-Policy and no inline script or style', async () => {
      for (const path of ['/', '/audit', '/sso/idp']) {
        const response = await fetch(`${demo.url}${path}`);
        expect(response.status, path).to.equal(200);
        expect(response.headers.get('content-security-policy'), path).to.include(
          "default-src 'self'",
        );
        const html = await response.text();
        expect(html, path).to.not.match(/<script(?![^>]*\ssrc=)[^>]*>/);
        expect(html, path).to.not.match(/\sstyle=|<style|\son[a-z]+=/i);
      }
    });

    it('serves the files of demo/public by name only', async () => {
      const script = await fetch(`${demo.url}/static/audit.js`);
      expect(script.status).to.equal(200);
      expect(script.headers.get('content-type')).to.match(/^text\/javascript/);
      for (const path of ['/static/../app.ts', '/static/%2e%2e/app.ts', '/static/index.html']) {
        expect((await fetch(`${demo.url}${path}`)).status, path).to.equal(404);
      }
    });

    it('answers /demo/verify and /demo/subject only to a token with the audit scope', async () => {
      const token = async (username: string) =>
        ((await (await login({ username, password: username })).json()) as TokenPair).access_token;
      const [alice, admin] = [await token('alice'), await token('admin')];
      const get = (path: string, bearer: string) =>
        fetch(`${demo.url}${path}`, { headers: { Authorization: `Bearer ${bearer}` } });
      expect((await get('/demo/verify', alice)).status).to.equal(403);
      expect((await get('/demo/subject?username=alice', alice)).status).to.equal(403);
      const verified = await get('/demo/verify', admin);
      expect(await verified.json()).to.include({ ok: true });
      const subject = await get('/demo/subject?username=alice', admin);
      expect(await subject.json()).to.deep.equal({ username: 'alice', sub: subOf('alice') });
      expect((await get('/demo/subject?username=eve', admin)).status).to.equal(404);
    });
  });
  describe('GET /metrics', () => {
    it("serves the plugin's metrics as Prometheus text, moving with logins and refusals", async () => {
      const scrape = async () => {
        const response = await fetch(`${demo.url}/metrics`);
        expect(response.status).to.equal(200);
        expect(response.headers.get('content-type')).to.match(/^text\/plain/);
        return response.text();
      };
      const value = (text: string, pattern: RegExp) =>
        Number(new RegExp(`^${pattern.source} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      const issued =
        /jwtconnect_tokens_issued(?:_total)?\{[^}]*jwtconnect_login_source="password"[^}]*\}/;
      const missing =
        /jwtconnect_bearer_rejections(?:_total)?\{[^}]*jwtconnect_rejection_reason="missing"[^}]*\}/;
      const before = await scrape();
      expect((await login({ username: 'alice', password: 'alice' })).status).to.equal(200);
      expect((await me()).status).to.equal(401);
      const after = await scrape();
      expect(value(after, issued)).to.equal(value(before, issued) + 1);
      expect(value(after, missing)).to.equal(value(before, missing) + 1);
      expect(after).to.match(/^# TYPE jwtconnect_store_duration histogram$/m);
      expect(after).to.match(
        /^jwtconnect_store_duration_count\{[^}]*db_operation_name="appendEvent"/m,
      );
      expect(after).to.not.include('eyJ');
    });
  });
});
