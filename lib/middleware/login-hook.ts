/**
 * `auth.loginHook()`: Koa middleware for after any login handler (SAML ACS, password form, OIDC
 * callback) has put the authenticated user on `ctx.state.user`. It issues a token pair through the
 * same path as `auth.issue()`, puts it on `ctx.state.tokens`, and either answers it as JSON or hands
 * over to the next middleware (for apps that redirect or set cookies).
 */
import type { Context, Middleware, Next } from 'koa';
import { ConfigError } from '../errors.js';
import type { UserRecord } from '../tokens/claims.js';
import type { SessionDeps } from '../sessions/deps.js';
import { issueSession } from '../sessions/issue.js';
import { traced } from '../telemetry/telemetry.js';
import { renderError, toPluginError } from './error-handler.js';

/** Options of `auth.loginHook()`. */
export interface LoginHookOptions {
  /** Kind of login: `saml`, `password`, `oidc`, ... Default `external`. */
  source?: string;
  /** Finer detail of the login, recorded in the `issued` event (e.g. the IdP's entity id). */
  method?: string;
  /** Scope for the session, fixed or from the request (e.g. from the user's roles). */
  scope?: string | ((ctx: Context, user: UserRecord) => string | undefined);
  /** true (default): answer the pair as JSON. false: call `next()` with `ctx.state.tokens` set. */
  respond?: boolean;
  /** Where the user is. Default `ctx.state.user`. */
  user?: (ctx: Context) => UserRecord | undefined;
}

export function loginHook(deps: SessionDeps, options: LoginHookOptions = {}): Middleware {
  const respond = options.respond ?? true;
  const source = options.source ?? 'external';
  // A caller mistake is reported when the app is wired, not as a 500 on every login.
  if (typeof source !== 'string' || source === '') {
    throw new ConfigError(
      'loginHook options.source must say which kind of login happened, e.g. "saml"',
    );
  }
  return async function issueAfterLogin(ctx: Context, next: Next) {
    try {
      const user = options.user ? options.user(ctx) : (ctx.state['user'] as UserRecord | undefined);
      if (typeof user !== 'object' || user === null) {
        throw new TypeError('loginHook: no authenticated user on ctx.state.user');
      }
      const scope = typeof options.scope === 'function' ? options.scope(ctx, user) : options.scope;
      const how = {
        ctx,
        source,
        ...(options.method !== undefined && { method: options.method }),
        ...(scope !== undefined && { scope }),
      };
      ctx.state['tokens'] = await traced(deps.telemetry, 'issue', () =>
        issueSession(deps, user, how),
      );
    } catch (caught) {
      renderError(ctx, toPluginError(caught), deps.config.logger, caught);
      return;
    }
    if (!respond) return next();
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    ctx.body = ctx.state['tokens'];
  };
}
