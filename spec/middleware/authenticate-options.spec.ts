/**
 * `auth.authenticate()` options over real HTTP: `optional` (no token -> no user, any bad token still
 * 401), `getToken` (the token from elsewhere, such as a cookie) and `headerTypes` (the accepted
 * Authorization schemes, case-insensitive per RFC 7235 section 2.1).
 */
import { expect } from 'chai';
import Router from '@koa/router';
import { decodeJwt } from 'jose';
import Koa from 'koa';
import { ConfigError } from '../../lib/errors.js';
import type { AuthenticateOptions } from '../../lib/middleware/authenticate.js';
import { ledgerOf } from '../../lib/internals.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { keyPair, newKeyPair } from '../support/keys.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw } from '../support/tokens.js';
import { call, serve, type Answer, type Served } from '../support/http.js';

const INVALID_TOKEN = /^Bearer error="invalid_token"/;

let users = 0;
function newUser() {
  users += 1;
  return { id: `opt-${users}`, username: `opt${users}` };
}

/** The session cookie of the test apps' `getToken`. */
function cookieToken(ctx: Koa.Context): string | undefined {
  return ctx.cookies.get('access_token');
}

describe('auth.authenticate() options [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let app: Served;
  let seen: { user: unknown }[];

  /** One route per option set; each answers what the handler saw. */
  function appFor(plugin: TestPlugin): Koa {
    const koa = new Koa();
    koa.silent = true;
    const router = new Router();
    const routes: Record<string, AuthenticateOptions> = {
      '/optional': { optional: true },
      '/optional-audit': { optional: true, scope: 'audit' },
      '/cookie': { getToken: cookieToken },
      '/optional-cookie': { optional: true, getToken: cookieToken },
      '/jwt': { headerTypes: ['Bearer', 'JWT'] },
      '/plain': {},
    };
    for (const [path, options] of Object.entries(routes)) {
      router.get(path, plugin.auth.authenticate(options), (ctx) => {
        seen.push({ user: ctx.state['user'] });
        ctx.body = { user: ctx.state['user'] ?? null };
      });
    }
    koa.use(router.routes());
    return koa;
  }

  async function login(scope?: string) {
    const pair = await p.auth.issue(newUser(), { source: 'test', ...(scope && { scope }) });
    return { pair, claims: decodeJwt(pair.access_token) };
  }

  function send(path: string, authorization?: string, cookie?: string): Promise<Answer> {
    return call(`${app.url}${path}`, authorization, cookie ? { headers: { cookie } } : {});
  }

  /** 401 invalid_token, the handler not run. */
  function expectRefused(answer: Answer, label: string): void {
    expect(answer.status, label).to.equal(401);
    expect(answer.headers.get('www-authenticate'), label).to.match(INVALID_TOKEN);
    expect(answer.body, label).to.include({ error: 'invalid_token' });
  }

  before(async () => {
    t = await openTestDatabase('authenticate_options');
    p = await testPlugin(t.db);
    app = await serve(appFor(p));
  });
  beforeEach(() => {
    seen = [];
  });
  after(async () => {
    await app.close();
    await p.auth.close();
    await t.dispose();
  });

  describe('optional', () => {
    it('lets a request without a token through without a user', async () => {
      for (const authorization of [undefined, 'Basic YWxpY2U6YWxpY2U=']) {
        const answer = await send('/optional', authorization);
        expect(answer.status, authorization).to.equal(200);
        expect(answer.body).to.deep.equal({ user: null });
      }
      expect(seen).to.deep.equal([{ user: undefined }, { user: undefined }]);
    });

    it('sets the user from a valid token, as without the option', async () => {
      const { pair, claims } = await login();
      const answer = await send('/optional', `Bearer ${pair.access_token}`);
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.equal({ user: claims });
    });

    it('never turns a bad token into anonymous access [revoked, forged, expired, malformed, unrecorded]', async () => {
      const revoked = await login();
      await p.auth.revoke({ sid: revoked.claims['sid'] as string }, { reason: 'logout' });
      const attacker = await newKeyPair('ES256');
      const kid = p.auth.tokens.jwks().keys[0]!.kid;
      const { claims } = await login();
      const forged = await signRaw(
        attacker.privateKey,
        { alg: 'ES256', kid, typ: 'at+jwt' },
        claims,
      );
      const expired = await login();
      const unrecorded = await signRaw(
        (await keyPair('ES256')).privateKey,
        { alg: 'ES256', kid, typ: 'at+jwt' },
        { ...claims, jti: 'never-recorded-jti-000000' },
      );
      const cases: [string, string][] = [
        ['revoked', `Bearer ${revoked.pair.access_token}`],
        ['forged', `Bearer ${forged}`],
        ['malformed', 'Bearer a.b.c;x=1'],
        ['empty', 'Bearer'],
        ['unrecorded', `Bearer ${unrecorded}`],
      ];
      for (const [label, authorization] of cases) {
        expectRefused(await send('/optional', authorization), label);
      }
      p.clock.advance(1800_000 + 10_000);
      expectRefused(await send('/optional', `Bearer ${expired.pair.access_token}`), 'expired');
      expect(seen).to.deep.equal([]);
    });

    it('still answers 403 to a presented token without the required scope', async () => {
      const { pair } = await login('read');
      const answer = await send('/optional-audit', `Bearer ${pair.access_token}`);
      expect(answer.status).to.equal(403);
      expect(answer.body).to.include({ error: 'insufficient_scope' });
      expect((await send('/optional-audit')).status).to.equal(200);
    });

    it('answers 503 to a presented token when revocation cannot be checked', async () => {
      const own = await testPlugin(null, {
        store: {
          mongo: { uri: testServerUri(), dbName: t.db.databaseName, serverSelectionTimeoutMS: 500 },
        },
      });
      const served = await serve(appFor(own));
      try {
        const pair = await own.auth.issue(newUser(), { source: 'test' });
        await ledgerOf(own.auth).store.close();
        const answer = await call(`${served.url}/optional`, `Bearer ${pair.access_token}`);
        expect(answer.status).to.equal(503);
        expect(seen).to.deep.equal([]);
      } finally {
        await served.close();
        await own.auth.close();
      }
    });
  });

  describe('getToken', () => {
    it('authenticates with the token it finds, such as a cookie', async () => {
      const { pair, claims } = await login();
      const answer = await send('/cookie', undefined, `access_token=${pair.access_token}`);
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.equal({ user: claims });
    });

    it('falls back to the Authorization header when it finds nothing', async () => {
      const { pair } = await login();
      expect((await send('/cookie', `Bearer ${pair.access_token}`)).status).to.equal(200);
      const none = await send('/cookie');
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.equal('Bearer');
      expect((await send('/optional-cookie')).body).to.deep.equal({ user: null });
    });

    it('holds what it finds to every check [revoked, forged, malformed], optional or not', async () => {
      const revoked = await login();
      await p.auth.revoke({ jti: revoked.claims.jti! }, { reason: 'logout' });
      const { pair } = await login();
      const [h, , s] = pair.access_token.split('.');
      const tampered = `${h}.${Buffer.from('{"sub":"admin"}').toString('base64url')}.${s}`;
      for (const path of ['/cookie', '/optional-cookie']) {
        for (const token of [revoked.pair.access_token, tampered, 'not a token']) {
          const answer = await send(path, undefined, `access_token=${token}`);
          expectRefused(answer, `${path} ${token.slice(0, 12)}`);
        }
      }
      expect(seen).to.deep.equal([]);
    });
  });

  describe('headerTypes', () => {
    it('accepts each listed scheme in any case', async () => {
      const { pair } = await login();
      for (const scheme of ['Bearer', 'JWT', 'jwt', 'bEaReR']) {
        const answer = await send('/jwt', `${scheme} ${pair.access_token}`);
        expect(answer.status, scheme).to.equal(200);
      }
    });

    it('treats an unlisted scheme as no token [JWT by default, Token]', async () => {
      const { pair } = await login();
      for (const [path, scheme] of [
        ['/plain', 'JWT'],
        ['/jwt', 'Token'],
        ['/jwt', 'JWTx'],
      ] as const) {
        const answer = await send(path, `${scheme} ${pair.access_token}`);
        expect(answer.status, `${path} ${scheme}`).to.equal(401);
        expect(answer.headers.get('www-authenticate')).to.equal('Bearer');
      }
      expect(seen).to.deep.equal([]);
    });

    it('refuses a malformed token under a listed scheme', async () => {
      expectRefused(await send('/jwt', 'JWT a.b.c d.e.f'), 'two tokens');
    });
  });

  it('refuses wrong options when the middleware is created', () => {
    const wrong: unknown[] = [
      { optional: 'yes' },
      { getToken: 'access_token' },
      { headerTypes: [] },
      { headerTypes: 'Bearer' },
      { headerTypes: [''] },
      { headerTypes: ['Bear er'] },
      { headerTypes: ['Bearer', 42] },
    ];
    for (const options of wrong) {
      expect(() => p.auth.authenticate(options as AuthenticateOptions), JSON.stringify(options))
        .to.throw(ConfigError)
        .with.property('message')
        .that.matches(/^authenticate options\.(optional|getToken|headerTypes) must be/);
    }
  });
});
