/**
 * `auth.routes()` mounted under a prefix by the host rather than by its own `prefix` option: nested
 * in an @koa/router router (`router.use('/auth', auth.routes())`) or under koa-mount. Every route
 * answers at the mounted path, with the plugin's error bodies, and nothing at the bare path.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import mount from 'koa-mount';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import { bearer, get, pairOf, postJson, request } from '../support/http.js';
import { ALICE, testPlugin } from '../support/plugin.js';

/** Any Koa app, whatever its context type. */
type App = Pick<Koa, 'callback'>;

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(app: App): Promise<Served> {
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** Refresh, JWKS, introspection and an error body, all under `base`; the bare paths are not served. */
async function expectServedUnder(auth: JwtConnect, url: string, base: string): Promise<void> {
  const pair = await auth.issue(ALICE, { source: 'saml' });
  const renewed = pairOf(
    await postJson(`${url}${base}/token/refresh`, { token: pair.refresh_token }),
  );
  expect(renewed.token_type).to.equal('Bearer');
  expect((await get(`${url}${base}/.well-known/jwks.json`)).status).to.equal(200);
  const introspection = await postJson(
    `${url}${base}/token/introspection`,
    { token: renewed.access_token },
    bearer(renewed.access_token),
  );
  expect(introspection.body).to.include({ active: true });
  const missing = await postJson(`${url}${base}/token/refresh`, {});
  expect(missing.status).to.equal(400);
  expect(missing.body).to.include({ error: 'invalid_request' });
  expect(missing.headers.get('cache-control')).to.equal('no-store');
  if (base !== '') {
    expect((await get(`${url}/.well-known/jwks.json`)).status).to.equal(404);
    const bare = await postJson(`${url}/token/refresh`, { token: renewed.refresh_token });
    expect(bare.status).to.equal(404);
  }
}

describe('auth.routes() mounted by the host [memory store, HTTP]', () => {
  let auth: JwtConnect;
  before(async () => {
    auth = (await testPlugin(null)).auth;
  });
  after(async () => {
    await auth.close();
  });

  const layouts: [string, string, () => App][] = [
    [
      "router.use('/auth', auth.routes())",
      '/auth',
      () => {
        const parent = new Router();
        parent.use('/auth', auth.routes());
        return new Koa().use(parent.routes()).use(parent.allowedMethods());
      },
    ],
    [
      'router.use(auth.routes())',
      '',
      () => {
        const parent = new Router();
        parent.use(auth.routes());
        return new Koa().use(parent.routes());
      },
    ],
    [
      "a prefixed router's use('/auth', auth.routes({ prefix: '/v1' }))",
      '/api/auth/v1',
      () => {
        const parent = new Router({ prefix: '/api' });
        parent.use('/auth', auth.routes({ prefix: '/v1' }));
        return new Koa().use(parent.routes());
      },
    ],
    [
      "app.use(mount('/auth', auth.routes()))",
      '/auth',
      () => new Koa().use(mount('/auth', auth.routes())),
    ],
  ];
  for (const [title, base, build] of layouts) {
    it(`answers every route at the mounted path [${title}]`, async () => {
      const served = await serve(build());
      try {
        await expectServedUnder(auth, served.url, base);
      } finally {
        await served.close();
      }
    });
  }

  it("answers 405 with Allow through the parent router's allowedMethods()", async () => {
    const parent = new Router();
    parent.use('/auth', auth.routes());
    const served = await serve(new Koa().use(parent.routes()).use(parent.allowedMethods()));
    try {
      const reply = await request(`${served.url}/auth/token/refresh`, { method: 'GET' });
      expect(reply.status).to.equal(405);
      expect(reply.headers.get('allow')).to.equal('POST');
    } finally {
      await served.close();
    }
  });
});
