/**
 * Bad input at the routes gets a clear 4xx and changes nothing. Operator objects, arrays, numbers
 * and repeated parameters on every parameter of every route; oversized, malformed and mistyped
 * bodies; garbage and forged tokens anywhere a token goes.
 */
import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import {
  bearer,
  get,
  postForm,
  postJson,
  postRaw,
  startApp,
  type HeaderMap,
  type Reply,
  type TestApp,
} from '../support/http.js';
import { keyPair, newKeyPair } from '../support/keys.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw, unsignedToken } from '../support/tokens.js';

/** Every body parameter of every POST route, and whether the route needs a caller. */
const POST_ROUTES: { path: string; params: string[]; caller: boolean }[] = [
  { path: '/token/refresh', params: ['token', 'refresh_token', 'grant_type'], caller: false },
  { path: '/token/introspection', params: ['token', 'jti', 'token_type_hint'], caller: true },
  { path: '/token/revocation', params: ['token', 'token_type_hint'], caller: true },
  { path: '/token/login', params: ['username', 'password'], caller: false },
];
const AUDIT_PARAMS = ['sub', 'sid', 'jti', 'type', 'from', 'to', 'at', 'limit', 'cursor'];
const INJECTIONS: unknown[] = [{ $ne: null }, ['a', 'b'], { $gt: '' }, 42, true, { $regex: '.*' }];

function expectInvalidRequest(reply: Reply, what: string): void {
  expect(reply.status, what).to.equal(400);
  expect(reply.body['error'], what).to.equal('invalid_request');
  expect(reply.headers.get('cache-control'), what).to.equal('no-store');
}

describe('bad input at the routes [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  let small: TestApp;
  /** A caller with every scope, so that only the input decides. */
  let caller: HeaderMap;
  let pair: { access_token: string; refresh_token: string };

  const events = () => t.db.collection('jwtconnect_events').countDocuments();

  before(async () => {
    t = await openTestDatabase('routes_input');
    p = await testPlugin(t.db);
    const login = { verifyPassword: (username: string) => ({ id: username, username }) };
    app = await startApp(p.auth, { routes: { login } });
    small = await startApp(p.auth, { routes: { bodyLimit: 1024 } });
    const admin = await p.auth.issue(ALICE, {
      source: 'saml',
      scope: 'introspection audit admin',
    });
    caller = bearer(admin.access_token);
    pair = await p.auth.issue(ALICE, { source: 'saml' });
  });
  after(async () => {
    await app.close();
    await small.close();
    await p.auth.close();
    await t.dispose();
  });

  it('refuses operator objects, arrays, numbers and booleans in every JSON parameter and records nothing', async () => {
    const before = await events();
    for (const route of POST_ROUTES) {
      for (const param of route.params) {
        for (const value of INJECTIONS) {
          const body = { [param]: value };
          const what = `${route.path} ${param}=${JSON.stringify(value)}`;
          const reply = await postJson(`${app.url}${route.path}`, body, route.caller ? caller : {});
          expectInvalidRequest(reply, what);
          // Refused by the parameter check itself, before any presence check or lookup.
          expect(reply.body['error_description'], what).to.match(new RegExp(`^"${param}" must`));
        }
      }
    }
    expect(await events()).to.equal(before);
  });

  it('refuses repeated and bracketed form parameters on every POST route and records nothing', async () => {
    const before = await events();
    for (const route of POST_ROUTES) {
      for (const param of route.params) {
        const headers = route.caller ? caller : {};
        const url = `${app.url}${route.path}`;
        for (const raw of [
          `${param}=a&${param}=b`,
          `${param}[$ne]=x`,
          `${param}[]=a`,
          `${param}[0]=a`,
          `${param}.$gt=`,
        ]) {
          const reply = await postRaw(url, raw, 'application/x-www-form-urlencoded', headers);
          expectInvalidRequest(reply, `${route.path} ${raw}`);
        }
        expectInvalidRequest(await postForm(url, { [param]: ['a', 'b'] }, headers), param);
      }
    }
    expect(await events()).to.equal(before);
  });

  it('refuses a JSON member given twice', async () => {
    const text = `{"token":"${pair.refresh_token}","token":"${pair.refresh_token}"}`;
    const reply = await postRaw(`${app.url}/token/refresh`, text, 'application/json');
    expectInvalidRequest(reply, 'duplicate member');
    expect(reply.body['error_description']).to.equal('"token" must be given once');
    // Equal names deeper down are not parameters; only the top level counts.
    const nested = `{"token":"${pair.refresh_token}","x":{"token":1,"token":2},"y":["token"]}`;
    const spent = await postRaw(`${app.url}/token/refresh`, nested, 'application/json');
    expect(spent.status).to.equal(200);
    pair = spent.body as typeof pair;
  });

  it('refuses repeated audit query parameters, ignores bracketed ones, and records nothing', async () => {
    const before = await events();
    for (const param of AUDIT_PARAMS) {
      const reply = await get(`${app.url}/token/audit?${param}=a&${param}=b`, caller);
      expectInvalidRequest(reply, param);
      expect(reply.body['error_description']).to.equal(
        `"${param}" must be given once, as a string`,
      );
      const bracketed = await get(`${app.url}/token/audit?${param}[$ne]=x&limit=1`, caller);
      expect(bracketed.status, param).to.equal(200);
    }
    expect(await events()).to.equal(before);
  });

  it('answers 413 for a body over the limit [default 16 KiB, configured 1 KiB; JSON and form]', async () => {
    const big = 'x'.repeat(16 * 1024);
    for (const reply of [
      await postJson(`${app.url}/token/refresh`, { token: big }),
      await postForm(`${app.url}/token/refresh`, { token: big }),
      await postJson(`${app.url}/token/login`, { username: 'a', password: big }),
      await postJson(`${app.url}/token/introspection`, { token: big }, caller),
      await postJson(`${small.url}/token/refresh`, { token: 'x'.repeat(1024) }),
    ]) {
      expect(reply.status).to.equal(413);
      expect(reply.body['error']).to.equal('invalid_request');
    }
    const justUnder = await postJson(`${small.url}/token/refresh`, { token: 'x'.repeat(900) });
    expect(justUnder.status).to.equal(400);
    expect(justUnder.body['error']).to.equal('invalid_grant');
  });

  it('answers 400 invalid_request for malformed JSON and for bodies that are not an object', async () => {
    for (const text of [
      '{"token": ',
      '{token: "x"}',
      '"a string"',
      '42',
      'null',
      '[]',
      '["a"]',
      '{"a":1}}',
    ]) {
      for (const path of ['/token/refresh', '/token/revocation']) {
        const reply = await postRaw(`${app.url}${path}`, text, 'application/json', caller);
        expectInvalidRequest(reply, `${path} ${text}`);
      }
    }
  });

  it('answers 400 invalid_request for other or missing content types', async () => {
    const body = `token=${pair.refresh_token}`;
    for (const type of [
      'text/plain',
      'application/xml',
      'multipart/form-data; boundary=x',
      'application/vnd.api+json',
      undefined,
    ]) {
      const reply = await postRaw(`${app.url}/token/refresh`, body, type);
      expectInvalidRequest(reply, String(type));
      expect(reply.body['error_description']).to.match(/^the body must be application\/json/);
    }
    // Nothing was spent.
    expect(
      (await postForm(`${app.url}/token/refresh`, { token: pair.refresh_token })).status,
    ).to.equal(200);
  });

  it('answers 4xx, never 5xx, for garbage and forged tokens everywhere a token goes', async () => {
    const server = await keyPair('ES256');
    const attacker = await newKeyPair('ES256');
    const header = decodeProtectedHeader(pair.access_token) as { alg: string; kid: string };
    const claims = decodeJwt(pair.access_token) as JWTPayload;
    const hmacWithPublicKey = (() => {
      const input = unsignedToken({ alg: 'HS256', kid: header.kid, typ: 'at+jwt' }, claims).slice(
        0,
        -1,
      );
      return `${input}.${createHmac('sha256', server.publicPem).update(input).digest('base64url')}`;
    })();
    const forged = [
      await signRaw(attacker.privateKey, header, claims),
      await signRaw(attacker.privateKey, { ...header, jwk: attacker.publicJwk }, claims),
      await signRaw(server.privateKey, { ...header, jku: 'http://127.0.0.1:1/jwks' }, claims),
      await signRaw(server.privateKey, { ...header, kid: '../../etc/passwd' }, claims),
      await signRaw(server.privateKey, header, '{"sub": "x", "jti": {"$ne": null}}'),
      await signRaw(server.privateKey, header, { ...claims, sid: { $ne: null } }),
      unsignedToken({ alg: 'none', typ: 'at+jwt' }, claims),
      hmacWithPublicKey,
    ];
    const arbitrary = fc.sample(
      fc.oneof(
        fc.string({ minLength: 1, maxLength: 200 }),
        fc.stringMatching(/^[\w-]{1,40}\.[\w-]{1,40}\.[\w-]{0,40}$/),
      ),
      { numRuns: 30, seed: 7 },
    );
    for (const token of [...forged, ...arbitrary]) {
      const replies = [
        await postJson(`${app.url}/token/refresh`, { token }),
        await postJson(`${app.url}/token/introspection`, { token }, caller),
        await postJson(`${app.url}/token/revocation`, { token }, caller),
      ];
      if (/^[\x21-\x7e]+$/.test(token)) {
        replies.push(await get(`${app.url}/api/me`, { authorization: `Bearer ${token}` }));
        replies.push(
          await postJson(`${app.url}/token/introspection`, { token: 'x' }, bearer(token)),
        );
      }
      for (const reply of replies) {
        expect(reply.status, token).to.be.within(200, 499);
        expect(reply.text, token).to.not.include('Error:');
      }
      expect(replies[1]!.body, token).to.deep.equal({ active: false });
    }
    expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(200);
  });
});
