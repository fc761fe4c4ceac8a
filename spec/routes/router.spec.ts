/**
 * `auth.routes(options)`: the JWKS route, configurable prefix and paths, disabled routes, methods,
 * and options refused up front with a ConfigError naming the option.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { bearer, get, pairOf, postJson, request, startApp, type TestApp } from '../support/http.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { ConfigError } from '../../lib/errors.js';
import type { RoutesOptions } from '../../lib/routes/index.js';

describe('auth.routes() [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: TestApp;
  let custom: TestApp;

  before(async () => {
    t = await openTestDatabase('routes_router');
    p = await testPlugin(t.db);
    app = await startApp(p.auth);
    custom = await startApp(p.auth, {
      routes: { prefix: '/auth', paths: { refresh: '/renew', audit: false } },
    });
  });
  after(async () => {
    await app.close();
    await custom.close();
    await p.auth.close();
    await t.dispose();
  });

  it('publishes the public keys at /.well-known/jwks.json, cacheable for five minutes', async () => {
    const reply = await get(`${app.url}/.well-known/jwks.json`);
    expect(reply.status).to.equal(200);
    expect(reply.headers.get('cache-control')).to.equal('public, max-age=300');
    expect(reply.headers.get('content-type')).to.match(/^application\/json/);
    expect(reply.body).to.deep.equal(JSON.parse(JSON.stringify(p.auth.tokens.jwks())));
    const [key, ...others] = reply.body['keys'] as Record<string, unknown>[];
    expect(others).to.deep.equal([]);
    expect(key).to.include({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key).to.have.property('kid').that.is.a('string');
    expect(key).to.not.have.any.keys('d', 'p', 'q', 'dp', 'dq', 'qi', 'k');
  });

  it('mounts every route under the prefix and at the configured paths', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    const renewed = await postJson(`${custom.url}/auth/renew`, { token: pair.refresh_token });
    expect(pairOf(renewed).token_type).to.equal('Bearer');
    expect((await get(`${custom.url}/auth/.well-known/jwks.json`)).status).to.equal(200);
    const introspection = await postJson(
      `${custom.url}/auth/token/introspection`,
      { token: pairOf(renewed).access_token },
      { authorization: `Bearer ${pairOf(renewed).access_token}` },
    );
    expect(introspection.body).to.include({ active: true });
    // The one error step serves prefixed routes too.
    const missing = await postJson(`${custom.url}/auth/renew`, {});
    expect(missing.status).to.equal(400);
    expect(missing.body['error']).to.equal('invalid_request');
    expect(missing.headers.get('cache-control')).to.equal('no-store');
  });

  it('leaves disabled routes, unprefixed paths and the login route (off by default) to the app', async () => {
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    expect(
      (await postJson(`${custom.url}/token/refresh`, { token: pair.refresh_token })).status,
    ).to.equal(404);
    expect(
      (await postJson(`${custom.url}/auth/token/refresh`, { token: pair.refresh_token })).status,
    ).to.equal(404);
    expect((await get(`${custom.url}/auth/token/audit`)).status).to.equal(404);
    const login = await postJson(`${app.url}/token/login`, { username: 'alice', password: 'x' });
    expect(login.status).to.equal(404);
    // Nothing was spent by the requests nobody answered.
    expect(
      (await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token })).status,
    ).to.equal(200);
  });

  it("keeps its own per-request data off the host's ctx.state", async () => {
    const keysLeft: string[][] = [];
    const koa = new Koa();
    koa.use(async (ctx, next) => {
      await next();
      keysLeft.push(Object.keys(ctx.state));
    });
    koa.use(p.auth.routes({ login: { verifyPassword: () => ALICE } }));
    const server = koa.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const login = await postJson(`${url}/token/login`, { username: 'alice', password: 'x' });
      const { refresh_token: token } = pairOf(login);
      const pair = pairOf(await postJson(`${url}/token/refresh`, { token }));
      const caller = bearer(pair.access_token);
      const introspection = await postJson(
        `${url}/token/introspection`,
        { token: pair.access_token },
        caller,
      );
      const sessions = await get(`${url}/token/sessions`, caller);
      expect([introspection.body['active'], sessions.status]).to.deep.equal([true, 200]);
      expect(keysLeft).to.deep.equal([[], [], [], []]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('answers 405 with Allow for a method a route does not serve', async () => {
    const reply = await request(`${app.url}/token/refresh`, { method: 'GET' });
    expect(reply.status).to.equal(405);
    expect(reply.headers.get('allow')).to.equal('POST');
    const jwks = await request(`${app.url}/.well-known/jwks.json`, { method: 'DELETE' });
    expect(jwks.status).to.equal(405);
  });

  it('refuses wrong options with a ConfigError naming the option, as jwtconnect() does', () => {
    const cases: [unknown, RegExp][] = [
      [{ prefix: 'auth' }, /^routes options\.prefix must be a path/],
      [{ paths: { refresh: '/token/:id' } }, /^routes options\.paths\.refresh must be a path/],
      [{ paths: { jwks: true } }, /^routes options\.paths\.jwks must be a path/],
      [{ paths: { token: '/token' } }, /^routes options\.paths\.token is not a routes option$/],
      [{ bodyLimit: '16kb' }, /^routes options\.bodyLimit must be an integer number of bytes/],
      [{ bodyLimit: 0 }, /^routes options\.bodyLimit /],
      [{ cors: true }, /^routes options\.cors is not a routes option$/],
      [{ login: {} }, /^routes options\.login\.verifyPassword is required$/],
      [
        { login: { verifyPassword: 'yes' } },
        /^routes options\.login\.verifyPassword must be a function$/,
      ],
      [
        { login: { verifyPassword: () => null, throttle: { maxFailures: 0 } } },
        /^routes options\.login\.throttle\.maxFailures /,
      ],
      [
        { paths: { login: '/signin' } },
        /^routes options\.paths\.login needs routes options\.login/,
      ],
      [
        { paths: { audit: '/token/refresh' } },
        /^routes options\.paths\.audit is the same path as routes options\.paths\.refresh$/,
      ],
      [null, /^routes options must be an object$/],
    ];
    for (const [options, message] of cases) {
      const call = () => p.auth.routes(options as RoutesOptions);
      expect(call, JSON.stringify(options)).to.throw(ConfigError, message);
      expect(call).to.throw().with.property('code', 'ERR_CONFIG');
    }
  });
});
