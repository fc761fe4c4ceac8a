/**
 * `auth.loginHook()` after an external login handler (a fake SAML assertion consumer that sets
 * `ctx.state.user`), over real HTTP: what it answers, what it records, the single-session policy,
 * and the events host apps can listen to.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import Router from '@koa/router';
import { decodeJwt } from 'jose';
import Koa from 'koa';
import { ConfigError, InvalidGrantError, InvalidTokenError } from '../../lib/errors.js';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import type { LedgerEvent } from '../../lib/ledger/index.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import { ledgerOf } from '../../lib/internals.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { call, serve, type Served } from '../support/http.js';

use(chaiAsPromised);

const USER_AGENT = 'saml-test-agent/1.0';

let users = 0;
function newUser() {
  users += 1;
  return { id: `hook-${users}`, username: `hooked${users}`, first_name: 'Hook' };
}

/** Stands in for a SAML assertion consumer: the user comes from a test header, when there is one. */
const fakeSamlMiddleware: Koa.Middleware = async (ctx, next) => {
  const header = ctx.get('x-test-user');
  if (header !== '') ctx.state['user'] = JSON.parse(header) as Koa.DefaultState['user'];
  await next();
};

function logs() {
  const errors: [string, unknown][] = [];
  return {
    errors,
    logger: {
      warn: () => {},
      error: (message: string, detail?: unknown) => errors.push([message, detail]),
    },
  };
}

describe('auth.loginHook() [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let served: Served;
  const log = logs();
  /** What the middleware after a `respond: false` hook saw. */
  let handedOver: TokenResponse | undefined;

  function appFor(auth: JwtConnect): Koa {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    router.post('/saml/acs', fakeSamlMiddleware, auth.loginHook({ source: 'saml' }));
    router.post(
      '/saml/acs-redirect',
      fakeSamlMiddleware,
      auth.loginHook({ source: 'saml', respond: false }),
      (ctx) => {
        handedOver = ctx.state['tokens'] as TokenResponse;
        ctx.redirect('/app');
      },
    );
    router.get('/api/me', auth.authenticate(), (ctx) => {
      ctx.body = ctx.state['user'];
    });
    app.use(router.routes());
    return app;
  }

  function acs(base: string, user: object | undefined, path = '/saml/acs') {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    if (user !== undefined) headers['x-test-user'] = JSON.stringify(user);
    return call(`${base}${path}`, undefined, { method: 'POST', headers, redirect: 'manual' });
  }

  function me(base: string, token: string) {
    return call(`${base}/api/me`, `Bearer ${token}`);
  }

  before(async () => {
    t = await openTestDatabase('login_hook');
    p = await testPlugin(t.db, { logger: log.logger });
    served = await serve(appFor(p.auth));
  });
  after(async () => {
    await served.close();
    await p.auth.close();
    await t.dispose();
  });

  it('answers the token pair as JSON with Cache-Control: no-store', async () => {
    const answer = await acs(served.url, newUser());
    expect(answer.status).to.equal(200);
    expect(answer.headers.get('content-type')).to.match(/^application\/json/);
    expect(answer.headers.get('cache-control')).to.equal('no-store');
    const pair = answer.body as TokenResponse;
    expect(pair).to.have.all.keys(
      'access_token',
      'refresh_token',
      'token_type',
      'expires_in',
      'refresh_expires_in',
    );
    expect(pair).to.include({ token_type: 'Bearer', expires_in: 1800, refresh_expires_in: 3600 });
    expect((await me(served.url, pair.access_token)).body).to.include({
      username: `hooked${users}`,
      given_name: 'Hook',
    });
  });

  it('records the issued event with the login source, the client IP and the user agent', async () => {
    const pair = (await acs(served.url, newUser())).body as TokenResponse;
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const { events } = await p.auth.audit.history({ sid });
    expect(events.map((event) => event.type)).to.deep.equal(['issued']);
    expect(events[0]!.meta).to.deep.equal({
      source: 'saml',
      ip: '127.0.0.1',
      userAgent: USER_AGENT,
    });
  });

  it('hands over to the next middleware with ctx.state.tokens when respond is false', async () => {
    handedOver = undefined;
    const answer = await acs(served.url, newUser(), '/saml/acs-redirect');
    expect(answer.status).to.equal(302);
    expect(answer.headers.get('location')).to.equal('/app');
    expect(handedOver).to.include({ token_type: 'Bearer' });
    expect(String(answer.body)).to.not.include(handedOver!.access_token);
    await expect(p.auth.tokens.verify(handedOver!.access_token)).to.be.fulfilled;
  });

  it('answers 500 with a generic body and records nothing when no user was set (a host mistake)', async () => {
    const before = await ledgerOf(p.auth).store.countEvents();
    log.errors.length = 0;
    for (const user of [undefined, 'alice', null]) {
      const answer = await acs(served.url, user as object | undefined);
      expect(answer.status).to.equal(500);
      expect(answer.body).to.deep.equal({
        error: 'server_error',
        error_description: 'internal error',
      });
    }
    expect(await ledgerOf(p.auth).store.countEvents()).to.equal(before);
    // The host hears about its mistake in the log, not the client.
    expect(log.errors).to.have.length(3);
    expect(log.errors[0]![1]).to.be.instanceOf(TypeError);
  });

  it('refuses an empty source when the hook is created', () => {
    expect(() => p.auth.loginHook({ source: '' })).to.throw(
      ConfigError,
      /^loginHook options\.source must say/,
    );
  });

  it('answers 503 and issues no token when the store is unavailable', async () => {
    const own = await testPlugin(null, {
      store: {
        mongo: { uri: testServerUri(), dbName: t.db.databaseName, serverSelectionTimeoutMS: 500 },
      },
    });
    const app = await serve(appFor(own.auth));
    try {
      await ledgerOf(own.auth).store.close();
      const answer = await acs(app.url, newUser());
      expect(answer.status).to.equal(503);
      expect(answer.body).to.deep.equal({
        error: 'temporarily_unavailable',
        error_description: 'the service is temporarily unavailable',
      });
    } finally {
      await app.close();
      await own.auth.close();
    }
  });

  describe('with multipleTokens false', () => {
    let single: TestPlugin;
    let singleApp: Served;

    before(async () => {
      single = await testPlugin(t.db, { multipleTokens: false });
      singleApp = await serve(appFor(single.auth));
    });
    after(async () => {
      await singleApp.close();
      await single.auth.close();
    });

    it("revokes the user's older sessions with reason single_session, and not other users'", async () => {
      const carol = newUser();
      const dave = newUser();
      // Sessions are ordered by start time, then session id (see SECURITY.md "Revocations that
      // always land"): one login after another, a millisecond apart as real logins are at least.
      const login = async (user: object) => {
        single.clock.advance(1);
        return (await acs(singleApp.url, user)).body as TokenResponse;
      };
      const first = await login(carol);
      const second = await login(carol);
      const other = await login(dave);
      const latest = await login(carol);

      for (const old of [first, second]) {
        expect((await me(singleApp.url, old.access_token)).status).to.equal(401);
        await expect(single.auth.tokens.verify(old.access_token))
          .to.be.rejectedWith(InvalidTokenError)
          .and.eventually.include({ reason: 'revoked' });
        await expect(single.auth.refresh(old.refresh_token)).to.be.rejectedWith(InvalidGrantError);
        const sid = decodeJwt(old.access_token)['sid'] as string;
        const { events } = await single.auth.audit.history({ sid });
        expect(events.map((event) => [event.type, event.meta.reason])).to.deep.equal([
          ['issued', undefined],
          ['revoked', 'single_session'],
        ]);
        expect(events[1]!.meta).to.include({ actor: 'system', source: 'saml' });
      }
      expect((await me(singleApp.url, latest.access_token)).status).to.equal(200);
      expect((await me(singleApp.url, other.access_token)).status).to.equal(200);
    });
  });

  describe('auth.on()', () => {
    it('fires once per issued, refreshed and revoked event, with the event and no token in it', async () => {
      const seen: Record<string, LedgerEvent[]> = { issued: [], refreshed: [], revoked: [] };
      const listeners = {
        issued: (event: LedgerEvent) => seen['issued']!.push(event),
        refreshed: (event: LedgerEvent) => seen['refreshed']!.push(event),
        revoked: (event: LedgerEvent) => seen['revoked']!.push(event),
      };
      for (const [name, listener] of Object.entries(listeners)) {
        p.auth.on(name as LedgerEvent['type'], listener);
      }
      try {
        const pair = (await acs(served.url, newUser())).body as TokenResponse;
        const sid = decodeJwt(pair.access_token)['sid'] as string;
        const next = await p.auth.refresh(pair.refresh_token);
        await p.auth.revoke({ sid }, { reason: 'logout', actor: 'test' });

        expect(Object.values(seen).map((events) => events.length)).to.deep.equal([1, 1, 1]);
        const all = Object.values(seen).flat();
        expect(all.map((event) => [event.type, event.stream])).to.deep.equal([
          ['issued', sid],
          ['refreshed', sid],
          ['revoked', sid],
        ]);
        expect(all).to.deep.equal((await p.auth.audit.history({ sid })).events);
        const text = JSON.stringify(all);
        for (const token of [pair.access_token, pair.refresh_token, next.access_token]) {
          expect(text).to.not.include(token.split('.')[2]);
          expect(text).to.not.include(token.split('.')[1]);
        }
      } finally {
        for (const [name, listener] of Object.entries(listeners)) {
          p.auth.off(name as LedgerEvent['type'], listener);
        }
      }
    });

    it('stops calling a listener after off()', async () => {
      let calls = 0;
      const listener = () => {
        calls += 1;
      };
      p.auth.on('issued', listener);
      await acs(served.url, newUser());
      p.auth.off('issued', listener);
      await acs(served.url, newUser());
      expect(calls).to.equal(1);
    });

    it('still answers the pair when a listener throws, and logs the listener error', async () => {
      log.errors.length = 0;
      const listener = () => {
        throw new Error('listener failed');
      };
      p.auth.on('issued', listener);
      try {
        const answer = await acs(served.url, newUser());
        expect(answer.status).to.equal(200);
        expect(log.errors.map(([message]) => message)).to.deep.equal(['a "issued" listener threw']);
      } finally {
        p.auth.off('issued', listener);
      }
    });
  });
});
