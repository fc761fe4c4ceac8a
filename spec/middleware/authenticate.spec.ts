/**
 * `auth.authenticate()` over real HTTP (RFC 6750): the happy path, and every forged, malformed,
 * expired, unrecorded or revoked token refused with 401 at the middleware, before the handler runs.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { createHmac } from 'node:crypto';
import Router from '@koa/router';
import { base64url, calculateJwkThumbprint, decodeJwt, type JWTPayload } from 'jose';
import Koa from 'koa';
import { ConfigError, InvalidTokenError, type InvalidTokenReason } from '../../lib/errors.js';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import type { CheckedAccessToken } from '../../lib/sessions/access.js';
import { ledgerOf } from '../../lib/internals.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { keyPair, newKeyPair, secretFor, type TestKeyPair } from '../support/keys.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { signRaw, unsignedToken } from '../support/tokens.js';
import { call, countingServer, serve, type Answer, type Served } from '../support/http.js';

use(chaiAsPromised);

const AUDIENCE = 'https://api.example.org';
const INVALID_TOKEN = /^Bearer error="invalid_token"/;

/** HS256 computed by hand, for secrets jose refuses to sign with (an empty one, as /dev/null). */
function hmacToken(header: object, payload: object, secret: string | Uint8Array): string {
  const input = unsignedToken(header, payload).slice(0, -1);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

let users = 0;
/** A user of its own for each test, so one test's subject revocation never reaches another's. */
function newUser() {
  users += 1;
  return { id: `u-${users}`, username: `user${users}`, first_name: 'Test', email: 'u@example.org' };
}

describe('auth.authenticate() [MongoDB, HTTP]', () => {
  let t: TestDatabase;
  let server: TestKeyPair;
  let attacker: TestKeyPair;
  /** RS256, with an audience. */
  let rs: TestPlugin;
  /** HS256 (a shared secret), for forgeries that need HMAC to be allowed at all. */
  let hs: TestPlugin;
  let kid: string;
  let rsApp: Served;
  let hsApp: Served;
  let handled = 0;

  function appFor(auth: JwtConnect): Koa {
    const app = new Koa();
    app.silent = true;
    const router = new Router();
    const handler = (ctx: Koa.Context) => {
      handled += 1;
      const token = ctx.state['token'] as CheckedAccessToken;
      ctx.body = { user: ctx.state['user'], token };
    };
    router.get('/api/me', auth.authenticate(), handler);
    router.get('/api/audit', auth.authenticate({ scope: 'audit' }), handler);
    app.use(router.routes());
    return app;
  }

  /** Signs `claims` with the server's own RSA key, as the plugin would. */
  function resign(claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
    return signRaw(server.privateKey, { alg: 'RS256', kid, typ: 'at+jwt', ...header }, claims);
  }

  /** Issues a recorded pair for a new user; returns it with its access-token claims. */
  async function login(auth: JwtConnect = rs.auth, scope?: string) {
    const pair = await auth.issue(newUser(), { source: 'test', ...(scope && { scope }) });
    return { pair, claims: decodeJwt(pair.access_token) };
  }

  async function accepted(token: string, path = '/api/me'): Promise<Answer> {
    const answer = await call(`${rsApp.url}${path}`, `Bearer ${token}`);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(200);
    return answer;
  }

  /** 401 with an invalid_token challenge, the handler not run, and (when given) why. */
  async function refused(
    token: string,
    reason?: InvalidTokenReason,
    target: { app: Served; auth: JwtConnect } = { app: rsApp, auth: rs.auth },
  ): Promise<void> {
    const before = handled;
    const answer = await call(`${target.app.url}/api/me`, `Bearer ${token}`);
    expect(answer.status, JSON.stringify(answer.body)).to.equal(401);
    expect(answer.headers.get('www-authenticate')).to.match(INVALID_TOKEN);
    expect(answer.body).to.include({ error: 'invalid_token' });
    expect(answer.headers.get('cache-control')).to.equal('no-store');
    expect(handled, 'the handler ran').to.equal(before);
    if (reason !== undefined) {
      await expect(target.auth.tokens.verify(token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.include({ reason });
    }
  }

  before(async () => {
    t = await openTestDatabase('authenticate');
    server = await keyPair('RS256');
    attacker = await newKeyPair('RS256');
    rs = await testPlugin(t.db, {
      keys: { privateKeyPem: server.privatePem },
      algorithm: 'RS256',
      audience: AUDIENCE,
    });
    hs = await testPlugin(t.db, { keys: { secret: secretFor('HS256') }, algorithm: 'HS256' });
    kid = rs.auth.tokens.jwks().keys[0]!.kid;
    rsApp = await serve(appFor(rs.auth));
    hsApp = await serve(appFor(hs.auth));
  });
  after(async () => {
    await rsApp.close();
    await hsApp.close();
    await rs.auth.close();
    await hs.auth.close();
    await t.dispose();
  });

  describe('with a valid token', () => {
    it('sets ctx.state.user to the claims and ctx.state.token for the next middleware', async () => {
      const { pair, claims } = await login();
      const { body } = await accepted(pair.access_token);
      const { user, token } = body as { user: JWTPayload; token: CheckedAccessToken };
      expect(user).to.deep.equal(claims);
      expect(user).to.include({ username: `user${users}`, ttype: 'T', aud: AUDIENCE });
      expect(token.token).to.equal(pair.access_token);
      expect(token.claims).to.deep.equal(claims);
      expect(token.header).to.deep.equal({ alg: 'RS256', kid, typ: 'at+jwt' });
    });

    it('accepts the scheme in any case [bearer, BEARER]', async () => {
      const { pair } = await login();
      for (const scheme of ['bearer', 'BEARER']) {
        const answer = await call(`${rsApp.url}/api/me`, `${scheme} ${pair.access_token}`);
        expect(answer.status).to.equal(200);
      }
    });

    it('accepts its recorded claims re-signed with the server key (what the forgeries start from)', async () => {
      const { claims } = await login();
      await accepted(await resign(claims));
    });
  });

  describe('without a bearer token', () => {
    it('answers 401 with a bare Bearer challenge when there is no Authorization header', async () => {
      const answer = await call(`${rsApp.url}/api/me`);
      expect(answer.status).to.equal(401);
      expect(answer.headers.get('www-authenticate')).to.equal('Bearer');
      expect(answer.body).to.include({ error: 'invalid_request' });
    });

    it('answers 401 with a bare Bearer challenge to the Basic scheme', async () => {
      const basic = `Basic ${Buffer.from('alice:alice').toString('base64')}`;
      const answer = await call(`${rsApp.url}/api/me`, basic);
      expect(answer.status).to.equal(401);
      expect(answer.headers.get('www-authenticate')).to.equal('Bearer');
    });

    it('answers 401 invalid_token to the Bearer scheme without a usable token [empty, two tokens, bad characters]', async () => {
      const before = handled;
      for (const header of ['Bearer', 'Bearer ', 'Bearer a.b.c d.e.f', 'Bearer a.b.c;x=1']) {
        const answer = await call(`${rsApp.url}/api/me`, header);
        expect(answer.status, header).to.equal(401);
        expect(answer.headers.get('www-authenticate'), header).to.match(INVALID_TOKEN);
      }
      expect(handled).to.equal(before);
    });
  });

  describe('refuses forged tokens with 401 invalid_token', () => {
    it('refuses alg none in any case, with an empty and a non-empty signature', async () => {
      const { claims } = await login();
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        const header = { alg, kid, typ: 'at+jwt' };
        await refused(unsignedToken(header, claims), 'malformed');
        await refused(unsignedToken(header, claims, 'c2lnbmF0dXJl'), 'algorithm');
      }
    });

    it('refuses HS256 signed with the RSA public key as the secret [SPKI PEM, PKCS#1 PEM, JWK text]', async () => {
      const { claims } = await login();
      const secrets = [
        server.publicPem,
        server.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string,
        JSON.stringify(server.publicJwk),
        JSON.stringify(rs.auth.tokens.jwks().keys[0]),
      ];
      for (const secret of secrets) {
        for (const header of [
          { alg: 'HS256', kid, typ: 'at+jwt' },
          { alg: 'HS256', typ: 'at+jwt' },
        ]) {
          await refused(hmacToken(header, claims, secret), 'algorithm');
        }
      }
    });

    it('refuses a tampered payload [another user, an added scope, a later exp]', async () => {
      const { pair, claims } = await login();
      const other = await login();
      const [h, , s] = pair.access_token.split('.');
      for (const tampered of [
        { ...claims, sub: other.claims.sub },
        { ...claims, scope: 'audit admin' },
        { ...claims, exp: claims.exp! + 86_400 },
      ]) {
        await refused(`${h}.${base64url.encode(JSON.stringify(tampered))}.${s}`, 'signature');
      }
    });

    it('refuses a stripped or truncated signature', async () => {
      const { pair } = await login();
      const [h, p, s] = pair.access_token.split('.') as [string, string, string];
      await refused(`${h}.${p}.`, 'malformed');
      await refused(`${h}.${p}`, 'malformed');
      // Shorter by three bytes and spelled canonically, so the signature check itself refuses it.
      const shorter = Buffer.from(s, 'base64url').subarray(0, -3).toString('base64url');
      await refused(`${h}.${p}.${shorter}`, 'signature');
      await refused(`${h}.${p}.${s.slice(0, -4)}`);
      await refused(`${h}.${p}.${s.slice(0, 16)}`, 'signature');
    });

    it('refuses a token signed by another key under the server kid', async () => {
      const { claims } = await login();
      const header = { alg: 'RS256', kid, typ: 'at+jwt' };
      await refused(await signRaw(attacker.privateKey, header, claims), 'signature');
    });

    const KIDS = [
      '../../../../../../dev/null',
      '/dev/null',
      '..\\..\\..\\windows\\win.ini',
      "' OR '1'='1",
      "x' UNION SELECT 'secret' --",
      '1; DROP TABLE keys',
      '',
    ];

    it('refuses kid traversal, SQL and empty kid signed with an empty HMAC secret [RS256 plugin]', async () => {
      const { claims } = await login();
      for (const k of KIDS) {
        await refused(hmacToken({ alg: 'HS256', kid: k, typ: 'at+jwt' }, claims, ''), 'algorithm');
        const header = { alg: 'RS256', kid: k, typ: 'at+jwt' };
        await refused(await signRaw(attacker.privateKey, header, claims), 'header');
      }
    });

    it('refuses kid traversal, SQL, empty and operator kids signed with an empty HMAC secret [HS256 plugin]', async () => {
      const { pair, claims } = await login(hs.auth);
      const target = { app: hsApp, auth: hs.auth };
      // The HS256 baseline is accepted, so only the kid and the secret make the difference.
      expect((await call(`${hsApp.url}/api/me`, `Bearer ${pair.access_token}`)).status).to.equal(
        200,
      );
      for (const k of [...KIDS, { $ne: null }, ['x'], 0, null]) {
        await refused(
          hmacToken({ alg: 'HS256', kid: k, typ: 'at+jwt' }, claims, ''),
          'header',
          target,
        );
      }
      await refused(hmacToken({ alg: 'HS256', typ: 'at+jwt' }, claims, ''), 'signature', target);
    });

    it('refuses an embedded jwk header, never trusting the key it carries', async () => {
      const { claims } = await login();
      const thumbprint = await calculateJwkThumbprint(attacker.publicJwk);
      for (const k of [kid, thumbprint, undefined]) {
        const header = { alg: 'RS256', kid: k, typ: 'at+jwt', jwk: attacker.publicJwk };
        await refused(await signRaw(attacker.privateKey, header, claims), 'header');
      }
      // ...even embedding the server's own public key on a token the server key signed.
      await refused(await resign(claims, { jwk: server.publicJwk }), 'header');
    });

    it('refuses jku and x5u headers without sending any request to the URL they name', async () => {
      const { claims } = await login();
      const keyServer = await countingServer();
      try {
        for (const name of ['jku', 'x5u']) {
          const url = `${keyServer.url}/keys.json`;
          for (const k of [kid, 'evil']) {
            const header = { alg: 'RS256', kid: k, typ: 'at+jwt', [name]: url };
            await refused(await signRaw(attacker.privateKey, header, claims), 'header');
          }
          await refused(await resign(claims, { [name]: url }), 'header');
        }
        expect(keyServer.requests).to.have.length(0);
      } finally {
        await keyServer.close();
      }
    });

    it('refuses an unknown crit header on a token the server key signed', async () => {
      const { claims } = await login();
      const header = { alg: 'RS256', kid, typ: 'at+jwt', crit: ['urn:x:foo'], 'urn:x:foo': 1 };
      const token = await signRaw(server.privateKey, header, claims, {
        crit: { 'urn:x:foo': true },
      });
      await refused(token, 'header');
    });

    it('refuses a token of another typ [refresh typ, JWT, none]', async () => {
      const { claims } = await login();
      await refused(await resign(claims, { typ: 'rt+jwt' }), 'wrong_type');
      await refused(await resign(claims, { typ: 'JWT' }), 'wrong_type');
      await refused(await resign(claims, { typ: undefined }), 'wrong_type');
    });
  });

  describe('refuses tokens whose claims do not hold with 401 invalid_token', () => {
    it('refuses an expired token', async () => {
      const { pair } = await login();
      await accepted(pair.access_token);
      rs.clock.advance((1800 + 5 + 1) * 1000);
      await refused(pair.access_token, 'expired');
    });

    it('refuses a token whose nbf or iat is in the future beyond the tolerance', async () => {
      const { claims } = await login();
      const now = Math.floor(rs.clock() / 1000);
      await accepted(await resign({ ...claims, nbf: now + 5 }));
      await refused(await resign({ ...claims, nbf: now + 60 }), 'not_yet_valid');
      await refused(await resign({ ...claims, iat: now + 60 }), 'not_yet_valid');
    });

    it('refuses a wrong issuer or audience [other iss, other aud, no aud]', async () => {
      const { claims } = await login();
      await refused(await resign({ ...claims, iss: 'https://evil.example.org' }), 'claims');
      await refused(await resign({ ...claims, aud: 'https://other.example.org' }), 'claims');
      const { aud: _aud, ...withoutAud } = claims;
      await refused(await resign(withoutAud), 'claims');
    });

    it('refuses a refresh token presented as an access token', async () => {
      const { pair } = await login();
      // MACed with a key the access-token key set does not hold.
      await refused(pair.refresh_token, 'algorithm');
      // Signed by keys (as refresh tokens were before they were MACed by default): its typ...
      await refused(await resign(decodeJwt(pair.refresh_token), { typ: 'rt+jwt' }), 'wrong_type');
      // ...and even with the access typ, since its ttype says refresh.
      await refused(await resign(decodeJwt(pair.refresh_token)), 'wrong_type');
    });

    it('refuses tokens of two and four parts', async () => {
      const { pair } = await login();
      const [h, p, s] = pair.access_token.split('.');
      await refused(`${h}.${p}`, 'malformed');
      await refused(`${h}.${p}.${s}.${s}`, 'malformed');
    });

    it('refuses validly signed payloads that are not JSON objects [text, [], "x", 123, null, true]', async () => {
      const header = { alg: 'RS256', kid, typ: 'at+jwt' };
      for (const payload of ['not json', '{"sub":', '[]', '"x"', '123', 'null', 'true']) {
        await refused(await signRaw(server.privateKey, header, payload), 'malformed');
      }
    });

    it('refuses a 20 kB token, even one the server key signed over recorded claims', async () => {
      const { claims } = await login();
      const token = await resign({ ...claims, pad: 'x'.repeat(20_000) });
      expect(token.length).to.be.greaterThan(20_000);
      await refused(token, 'malformed');
    });
  });

  describe('refuses what the ledger never recorded (nothing unrecorded is accepted)', () => {
    it('refuses a validly signed token with right claims whose jti and sid were never recorded', async () => {
      const { claims } = await login();
      const forged = { ...claims, jti: 'bm90LXJlY29yZGVkLWp0aQ', sid: 'bm90LXJlY29yZGVkLXNpZA' };
      await refused(await resign(forged), 'unknown');
    });

    it('refuses an unrecorded jti in a recorded session, and the session refresh jti as an access jti', async () => {
      const { pair, claims } = await login();
      await refused(await resign({ ...claims, jti: 'bm90LXJlY29yZGVkLWp0aQ' }), 'unknown');
      await refused(await resign({ ...claims, jti: decodeJwt(pair.refresh_token).jti }), 'unknown');
    });

    it("refuses a recorded session's token re-signed for another subject", async () => {
      const { claims } = await login();
      const other = await login();
      await refused(await resign({ ...claims, sub: other.claims.sub }), 'unknown');
    });
  });

  describe('enforces revocation', () => {
    it('refuses an access token revoked by jti, and keeps its session usable', async () => {
      const { pair, claims } = await login();
      await accepted(pair.access_token);
      await rs.auth.revoke({ jti: claims.jti! }, { reason: 'logout' });
      await refused(pair.access_token, 'revoked');
      const next = await rs.auth.refresh(pair.refresh_token);
      await accepted(next.access_token);
    });

    it('refuses every access token of a revoked session', async () => {
      const { pair, claims } = await login();
      const next = await rs.auth.refresh(pair.refresh_token);
      await rs.auth.revoke({ sid: claims['sid'] as string }, { reason: 'logout' });
      await refused(pair.access_token, 'revoked');
      await refused(next.access_token, 'revoked');
    });

    it('refuses every token of a subject issued up to its cut-off, and accepts a later login', async () => {
      const user = newUser();
      const first = await rs.auth.issue(user, { source: 'test' });
      const second = await rs.auth.issue(user, { source: 'test' });
      await rs.auth.revoke({ sub: rs.auth.subjectOf(user) }, { reason: 'compromised' });
      await refused(first.access_token, 'revoked');
      await refused(second.access_token, 'revoked');
      rs.clock.advance(1000);
      const later = await rs.auth.issue(user, { source: 'test' });
      await accepted(later.access_token);
    });
  });

  describe('with a required scope', () => {
    it('answers 403 insufficient_scope to a valid token without the scope', async () => {
      for (const scope of [undefined, 'read', 'auditor', 'xaudit read']) {
        const { pair } = await login(rs.auth, scope);
        const before = handled;
        const answer = await call(`${rsApp.url}/api/audit`, `Bearer ${pair.access_token}`);
        expect(answer.status, String(scope)).to.equal(403);
        expect(answer.body).to.include({ error: 'insufficient_scope' });
        expect(answer.headers.get('www-authenticate')).to.equal(
          'Bearer error="insufficient_scope", scope="audit"',
        );
        expect(handled).to.equal(before);
      }
    });

    it('lets a token carrying the scope among others through', async () => {
      const { pair } = await login(rs.auth, 'read audit');
      await accepted(pair.access_token, '/api/audit');
    });

    it('still answers 401 before 403 for an invalid token', async () => {
      const { pair } = await login(rs.auth, 'audit');
      const [h, p] = pair.access_token.split('.');
      const answer = await call(`${rsApp.url}/api/audit`, `Bearer ${h}.${p}.`);
      expect(answer.status).to.equal(401);
    });

    it('refuses a scope option that is not one scope token when the middleware is created', () => {
      for (const scope of ['', 'a b', 42]) {
        expect(() => rs.auth.authenticate({ scope: scope as string })).to.throw(
          ConfigError,
          /^authenticate options\.scope must be one scope token$/,
        );
      }
    });
  });

  describe('when the store is unavailable', () => {
    it('answers 503 and never lets the request through', async () => {
      const own = await testPlugin(null, {
        store: {
          mongo: { uri: testServerUri(), dbName: t.db.databaseName, serverSelectionTimeoutMS: 500 },
        },
      });
      const app = await serve(appFor(own.auth));
      try {
        const pair = await own.auth.issue(newUser(), { source: 'test', scope: 'audit' });
        expect((await call(`${app.url}/api/me`, `Bearer ${pair.access_token}`)).status).to.equal(
          200,
        );
        await ledgerOf(own.auth).store.close();
        const before = handled;
        for (const path of ['/api/me', '/api/audit']) {
          const answer = await call(`${app.url}${path}`, `Bearer ${pair.access_token}`);
          expect(answer.status).to.equal(503);
          expect(answer.body).to.deep.equal({
            error: 'temporarily_unavailable',
            error_description: 'the service is temporarily unavailable',
          });
          expect(answer.headers.get('retry-after')).to.match(/^\d+$/);
        }
        expect(handled).to.equal(before);
      } finally {
        await app.close();
        await own.auth.close();
      }
    });
  });

  describe('downstream of a valid token', () => {
    it('neither swallows nor rewrites errors thrown by the next middleware', async () => {
      const { pair } = await login();
      const boom = new Error('handler failed');
      const teapot = Object.assign(new Error("I'm a teapot"), { status: 418, expose: true });
      const caught: unknown[] = [];
      const app = new Koa();
      app.silent = true;
      app.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          caught.push(error);
          ctx.status = (error as { status?: number }).status ?? 500;
          ctx.body = 'outer';
        }
      });
      const router = new Router();
      router.get('/boom', rs.auth.authenticate(), () => {
        throw boom;
      });
      router.get('/teapot', rs.auth.authenticate(), () => {
        throw teapot;
      });
      app.use(router.routes());
      const served = await serve(app);
      try {
        const a = await call(`${served.url}/boom`, `Bearer ${pair.access_token}`);
        const b = await call(`${served.url}/teapot`, `Bearer ${pair.access_token}`);
        expect([a.status, a.body, b.status, b.body]).to.deep.equal([500, 'outer', 418, 'outer']);
        expect(caught).to.have.length(2);
        expect(caught[0]).to.equal(boom);
        expect(caught[1]).to.equal(teapot);
        expect(a.headers.get('www-authenticate')).to.equal(null);
      } finally {
        await served.close();
      }
    });
  });
});
