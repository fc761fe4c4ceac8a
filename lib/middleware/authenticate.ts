/**
 * `auth.authenticate()`: Bearer authentication with revocation enforced. Sets `ctx.state.user` (the
 * claims) and `ctx.state.token` for the next middleware; answers 401 / 403 / 503 itself, and never
 * lets a request through when revocation cannot be checked.
 */
import type { Context, Middleware, Next } from 'koa';
import { ConfigError } from '../errors.js';
import { checkAccessToken } from '../sessions/access.js';
import type { SessionDeps } from '../sessions/deps.js';
import { assertScope } from '../sessions/scope.js';
import type { RevocationView } from '../sessions/revocation-view.js';
import { bearerToken } from './bearer.js';
import { renderError, toPluginError } from './error-handler.js';

/** Options of `auth.authenticate()`. */
export interface AuthenticateOptions {
  /** A scope the token must carry; otherwise 403 `insufficient_scope`. */
  scope?: string;
}

export function authenticate(
  deps: SessionDeps,
  view: RevocationView | undefined,
  options: AuthenticateOptions = {},
): Middleware {
  const { scope } = options;
  if (scope !== undefined && (typeof scope !== 'string' || scope === '' || scope.includes(' '))) {
    throw new ConfigError('authenticate options.scope must be one scope token');
  }
  return async function authenticateBearer(ctx: Context, next: Next) {
    try {
      const checked = await checkAccessToken(deps, bearerToken(ctx), view);
      if (scope !== undefined) assertScope(checked.claims, scope);
      ctx.state['user'] = checked.claims;
      ctx.state['token'] = checked;
    } catch (caught) {
      renderError(ctx, toPluginError(caught), deps.config.logger, caught);
      return;
    }
    await next();
  };
}
