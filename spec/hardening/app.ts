/**
 * The app the hardening specs and the fuzzer attack: every route of the plugin (login included), the
 * login hook behind a simulated SSO assertion consumer, and two protected APIs, on a real HTTP server.
 */
import { Router } from '@koa/router';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import type { TokenClaims, UserRecord } from '../../lib/tokens/claims.js';
import { serve } from '../support/http.js';

/** The host's user directory: password = username; admin's sessions carry every scope. */
const USERS: Readonly<Record<string, UserRecord & { scope?: string }>> = {
  alice: { id: 'u-alice', username: 'alice', first_name: 'Alice', email: 'alice@example.org' },
  bob: { id: 'u-bob', username: 'bob' },
  admin: { id: 'u-admin', username: 'admin', scope: 'introspection audit admin' },
};

function userNamed(name: unknown): (UserRecord & { scope?: string }) | undefined {
  return typeof name === 'string' && Object.hasOwn(USERS, name) ? USERS[name] : undefined;
}

function scopeOf(user: UserRecord): string | undefined {
  return typeof user['scope'] === 'string' ? user['scope'] : undefined;
}

export interface HardeningApp {
  readonly url: string;
  /** Errors emitted on the app: the plugin emits only those it answered with 5xx. */
  readonly errors: unknown[];
  close(): Promise<void>;
}

export async function startHardeningApp(auth: JwtConnect): Promise<HardeningApp> {
  const app = new Koa();
  const errors: unknown[] = [];
  app.on('error', (error: unknown) => errors.push(error));
  app.use(
    auth.routes({
      login: {
        verifyPassword: (username, password) =>
          username === password ? (userNamed(username) ?? null) : null,
        scope: (_ctx, user) => scopeOf(user),
        throttle: { maxFailures: 1000 },
      },
    }),
  );
  const router = new Router();
  // A simulated SAML assertion consumer: the host decides who logged in (the plugin never sees how),
  // then the hook issues the pair. The "assertion" is `ok:<username>`.
  const parse = bodyParser({ enableTypes: ['json', 'form'], jsonLimit: '16kb', formLimit: '16kb' });
  router.post(
    '/sso/acs',
    // A careful host answers its own parse errors (koa-bodyparser throws them).
    async (ctx, next) => {
      try {
        await parse(ctx, async () => {});
      } catch (error) {
        ctx.status = (error as { status?: number }).status ?? 400;
        ctx.body = { error: 'invalid_request', error_description: 'the body could not be read' };
        return;
      }
      await next();
    },
    async (ctx, next) => {
      const { assertion } = (ctx.request.body ?? {}) as Record<string, unknown>;
      const user =
        typeof assertion === 'string' && assertion.startsWith('ok:')
          ? userNamed(assertion.slice(3))
          : undefined;
      if (!user) {
        ctx.status = 401;
        ctx.body = { error: 'invalid_grant', error_description: 'the assertion is not valid' };
        return;
      }
      ctx.state['user'] = user;
      await next();
    },
    auth.loginHook({ source: 'saml', method: 'hardening-idp', scope: (_ctx, u) => scopeOf(u) }),
  );
  router.get('/api/me', auth.authenticate(), (ctx) => {
    const user = ctx.state['user'] as TokenClaims;
    ctx.body = { sub: user.sub, jti: user.jti, sid: user.sid };
  });
  router.get('/api/admin', auth.authenticate({ scope: 'admin' }), (ctx) => {
    ctx.body = { ok: true };
  });
  app.use(router.routes()).use(router.allowedMethods());

  return { ...(await serve(app)), errors };
}
