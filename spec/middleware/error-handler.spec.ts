/**
 * Errors the plugin answers with 5xx reach the host's `app.on('error')` (Koa's convention for
 * errors it does not expose), so the host's error reporting sees them; the client still gets a
 * generic body. Errors answered 4xx are the client's and are not emitted. A real Koa app over HTTP.
 */
import { Router } from '@koa/router';
import { expect } from 'chai';
import Koa from 'koa';
import { StoreUnavailableError } from '../../lib/errors.js';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { call, serve, type Served } from '../support/http.js';

const SECRET_DETAIL = 'password database at 10.1.2.3 refused user root';

interface Emitted {
  error: unknown;
  ctx: Koa.Context;
}

describe('middleware/error-handler', () => {
  let p: TestPlugin;
  let store: MemoryStore;
  let served: Served;
  const emitted: Emitted[] = [];
  let access: string;

  before(async () => {
    store = new MemoryStore();
    p = await testPlugin(null, { store: { custom: store } });
    access = (await p.auth.issue(ALICE, { source: 'test' })).access_token;
    const app = new Koa();
    app.on('error', (error: unknown, ctx: Koa.Context) => emitted.push({ error, ctx }));
    app.use(
      p.auth.routes({
        login: {
          verifyPassword: (username) => {
            if (username === 'broken') throw new TypeError(SECRET_DETAIL);
            return null;
          },
        },
      }),
    );
    const router = new Router();
    router.get('/api/me', p.auth.authenticate(), (ctx) => {
      ctx.body = { ok: true };
    });
    router.post('/hook', p.auth.loginHook({ source: 'test' }));
    app.use(router.routes());
    served = await serve(app);
  });
  beforeEach(() => {
    emitted.length = 0;
  });
  after(async () => {
    await served.close();
    await p.auth.close();
  });

  const postJson = (path: string, body: unknown) =>
    call(`${served.url}${path}`, undefined, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('emits an unexpected error of a route to app.on("error") with its ctx, and answers a generic 500', async () => {
    const answer = await postJson('/token/login', { username: 'broken', password: 'x' });
    expect(answer.status).to.equal(500);
    expect(answer.body).to.deep.equal({
      error: 'server_error',
      error_description: 'internal error',
    });
    expect(JSON.stringify(answer.body)).to.not.include('10.1.2.3');
    expect(emitted).to.have.length(1);
    expect(emitted[0]?.error).to.be.instanceOf(TypeError).with.property('message', SECRET_DETAIL);
    expect(emitted[0]?.ctx.path).to.equal('/token/login');
  });

  it('emits an unexpected error of loginHook()', async () => {
    const answer = await postJson('/hook', {});
    expect(answer.status).to.equal(500);
    expect(emitted.map(({ error }) => (error as Error).message)).to.deep.equal([
      'loginHook: no authenticated user on ctx.state.user',
    ]);
  });

  it('does not emit what it answers with 4xx: wrong passwords, bad input, bad tokens', async () => {
    expect((await postJson('/token/login', { username: 'a', password: 'b' })).status).to.equal(401);
    expect((await postJson('/token/refresh', { token: 'garbage' })).status).to.equal(400);
    expect((await call(`${served.url}/api/me`, 'Bearer garbage')).status).to.equal(401);
    expect((await call(`${served.url}/api/me`, `Bearer ${access}`)).status).to.equal(200);
    expect(emitted).to.deep.equal([]);
  });

  // Last: it closes the store.
  it('emits a store failure of authenticate() once, with a 503 that names nothing', async () => {
    await store.close();
    const answer = await call(`${served.url}/api/me`, `Bearer ${access}`);
    expect(answer.status).to.equal(503);
    expect(answer.headers.get('retry-after')).to.equal('5');
    expect(emitted).to.have.length(1);
    expect(emitted[0]?.error).to.be.instanceOf(StoreUnavailableError);
    expect(emitted[0]?.ctx.status).to.equal(503);
  });
});
