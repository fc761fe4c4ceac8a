/**
 * Claims that follow the user (`refreshClaims`): on each refresh the host says what the new access
 * token carries, or ends the session of a user who is gone; a hook that fails spends nothing.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import type { JwtConnectOptions, RefreshClaimsInput } from '../../lib/config.js';
import {
  HookError,
  InvalidGrantError,
  InvalidTokenError,
  StoreUnavailableError,
} from '../../lib/errors.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { bearer, get, postJson, startApp } from '../support/http.js';
import { ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';

use(chaiAsPromised);

type Hook = NonNullable<JwtConnectOptions['refreshClaims']>;

for (const kind of ['memory', 'MongoDB'] as const) {
  describe(`refreshClaims [${kind}]`, () => {
    let t: TestDatabase | undefined;
    let p: TestPlugin;
    let clock: FakeClock;
    /** What the current test's hook does; each test sets its own. */
    let hook: Hook;
    let calls: RefreshClaimsInput[];
    let logged: unknown[];

    before(async () => {
      if (kind === 'MongoDB') t = await openTestDatabase('user_claims');
      clock = fakeClock();
      p = await testPlugin(
        t?.db ?? null,
        {
          refreshClaims: (input) => {
            calls.push(input);
            return hook(input);
          },
          logger: { warn: () => {}, error: (_message, detail) => logged.push(detail) },
        },
        clock,
      );
    });
    beforeEach(() => {
      calls = [];
      logged = [];
      hook = ({ claims }) => claims;
    });
    after(async () => {
      await p.auth.close();
      await t?.dispose();
    });

    async function login() {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const sid = decodeJwt(pair.access_token)['sid'] as string;
      return { pair, sid };
    }

    async function eventsOf(sid: string) {
      return (await p.auth.audit.history({ sid })).events;
    }

    it("asks the hook with the session's subject, id and login claims, and issues its answer", async () => {
      const { pair, sid } = await login();
      hook = async ({ claims }) => ({ ...claims, email: 'alice@new.example.org', role: 'editor' });
      const next = await p.auth.refresh(pair.refresh_token);
      expect(calls).to.have.length(1);
      expect(calls[0]).to.deep.equal({
        sub: p.auth.subjectOf(ALICE),
        sid,
        claims: { username: 'alice', given_name: 'Alice', email: 'alice@example.org' },
        ctx: undefined,
      });
      expect(decodeJwt(next.access_token)).to.include({
        username: 'alice',
        email: 'alice@new.example.org',
        role: 'editor',
        sid,
      });
      expect(decodeJwt(next.refresh_token)).to.not.have.any.keys('email', 'role', 'username');
      // The next refresh is told the claims recorded at login again, not the last answer.
      hook = ({ claims }) => ({ ...claims, role: 'viewer' });
      const third = await p.auth.refresh(next.refresh_token);
      expect(calls[1]!.claims).to.include({ email: 'alice@example.org' });
      expect(decodeJwt(third.access_token)).to.include({ role: 'viewer' });
    });

    it('gives the hook the refresh request, and may drop claims the user no longer has', async () => {
      const { pair } = await login();
      const app = await startApp(p.auth);
      try {
        let agent: string | undefined;
        hook = ({ claims, ctx }) => {
          agent = (ctx as Context).get('user-agent');
          return { username: claims['username'] };
        };
        const reply = await postJson(
          `${app.url}/token/refresh`,
          { token: pair.refresh_token },
          { 'user-agent': 'claims-test/1' },
        );
        expect(reply.status).to.equal(200);
        expect(agent).to.equal('claims-test/1');
        const access = decodeJwt(reply.body['access_token'] as string);
        expect(access).to.include({ username: 'alice' });
        expect(access).to.not.have.any.keys('email', 'given_name');
      } finally {
        await app.close();
      }
    });

    it('ends the session when the hook answers null: revoked as user_inactive, invalid_grant', async () => {
      const { pair, sid } = await login();
      const second = await p.auth.refresh(pair.refresh_token);
      hook = () => null;
      await expect(p.auth.refresh(second.refresh_token))
        .to.be.rejectedWith(InvalidGrantError)
        .and.eventually.have.property('code', 'ERR_INVALID_GRANT');
      const last = (await eventsOf(sid)).at(-1)!;
      expect(last.type).to.equal('revoked');
      expect(last.meta).to.include({ reason: 'user_inactive', actor: 'system' });
      await expect(p.auth.tokens.verify(second.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.have.property('reason', 'revoked');
      await expect(p.auth.refresh(second.refresh_token)).to.be.rejectedWith(InvalidGrantError);
      expect(calls, 'the hook is not asked about a revoked session').to.have.length(2);
    });

    it('does not ask the hook about a spent or expired refresh token', async () => {
      const { pair, sid } = await login();
      await p.auth.refresh(pair.refresh_token);
      clock.advance(10_000);
      await expect(p.auth.refresh(pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
      expect((await eventsOf(sid)).at(-1)!.meta).to.include({ reason: 'refresh_token_reuse' });
      const other = await login();
      clock.advance(3_700_000);
      await expect(p.auth.refresh(other.pair.refresh_token)).to.be.rejectedWith(InvalidGrantError);
      expect(calls).to.have.length(1);
    });

    it('fails closed when the hook throws: 500, logged, nothing recorded, the token still usable', async () => {
      const { pair, sid } = await login();
      const app = await startApp(p.auth);
      try {
        const failure = new Error('user directory unreachable');
        hook = () => {
          throw failure;
        };
        const reply = await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token });
        expect(reply.status).to.equal(500);
        expect(reply.body).to.deep.equal({
          error: 'server_error',
          error_description: 'the service is temporarily unavailable',
        });
        expect(reply.text).to.not.include('directory');
        expect(logged).to.have.length(1);
        expect(logged[0]).to.be.instanceOf(HookError).and.have.property('cause', failure);
        await expect(p.auth.refresh(pair.refresh_token))
          .to.be.rejectedWith(HookError)
          .and.eventually.have.property('code', 'ERR_HOOK');
        expect((await eventsOf(sid)).map((event) => event.type)).to.deep.equal(['issued']);

        hook = ({ claims }) => claims;
        const fixed = await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token });
        expect(fixed.status).to.equal(200);
        const me = await get(`${app.url}/api/me`, bearer(fixed.body['access_token'] as string));
        expect(me.status).to.equal(200);
      } finally {
        await app.close();
      }
    });

    it('refuses an answer that is not claims, spending nothing [undefined, array, string, sub, exp, BigInt, circular]', async () => {
      const { pair, sid } = await login();
      const circular: Record<string, unknown> = {};
      circular['self'] = circular;
      const answers: unknown[] = [
        undefined,
        ['role'],
        'editor',
        { sub: 'someone-else' },
        { exp: 1 },
        { quota: 10n },
        circular,
      ];
      for (const answer of answers) {
        hook = () => answer as Record<string, unknown>;
        await expect(p.auth.refresh(pair.refresh_token), String(answer))
          .to.be.rejectedWith(HookError)
          .and.eventually.have.property('code', 'ERR_HOOK');
      }
      expect((await eventsOf(sid)).map((event) => event.type)).to.deep.equal(['issued']);
      hook = ({ claims }) => claims;
      await expect(p.auth.refresh(pair.refresh_token)).to.be.fulfilled;
    });

    it("passes the plugin's own errors from the hook through, such as 503 for an unavailable store", async () => {
      const { pair } = await login();
      hook = () => Promise.reject(new StoreUnavailableError('user store down'));
      await expect(p.auth.refresh(pair.refresh_token))
        .to.be.rejectedWith(StoreUnavailableError)
        .and.eventually.have.property('status', 503);
      hook = ({ claims }) => claims;
      await expect(p.auth.refresh(pair.refresh_token)).to.be.fulfilled;
    });
  });
}
