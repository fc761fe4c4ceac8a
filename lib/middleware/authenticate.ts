/**
 * `auth.authenticate()`: Bearer authentication with revocation enforced. Sets `ctx.state.user` (the
 * claims) and `ctx.state.token` for the next middleware; answers 401 / 403 / 503 itself, and never
 * lets a request through when revocation cannot be checked.
 */
import type { Context, Middleware, Next } from 'koa';
import { ConfigError, MissingTokenError } from '../errors.js';
import { checkAccessToken } from '../sessions/access.js';
import type { SessionDeps } from '../sessions/deps.js';
import { assertScope } from '../sessions/scope.js';
import {
  DEFAULT_HEADER_TYPES,
  assertHeaderTypes,
  assertTokenSyntax,
  headerReader,
  type TokenReader,
} from './bearer.js';
import { renderError, toPluginError } from './error-handler.js';

/** Options of `auth.authenticate()`. */
export interface AuthenticateOptions {
  /** A scope the token must carry; otherwise 403 `insufficient_scope`. */
  scope?: string;
  /**
   * true: a request without a token goes on without a user (`ctx.state.user` untouched). A token
   * that is presented is checked as always: invalid, expired or revoked is still 401.
   */
  optional?: boolean;
  /**
   * Finds the token elsewhere, e.g. in a cookie; asked first. `undefined` or `''`: read the
   * Authorization header instead.
   */
  getToken?: (ctx: Context) => string | undefined;
  /** Authorization schemes accepted, compared case-insensitively. Default `['Bearer']`. */
  headerTypes?: readonly string[];
}

export function authenticate(deps: SessionDeps, options: AuthenticateOptions = {}): Middleware {
  const { scope, optional = false, getToken, headerTypes = DEFAULT_HEADER_TYPES } = options;
  if (scope !== undefined && (typeof scope !== 'string' || scope === '' || scope.includes(' '))) {
    throw new ConfigError('authenticate options.scope must be one scope token');
  }
  if (typeof optional !== 'boolean') {
    throw new ConfigError('authenticate options.optional must be a boolean');
  }
  if (getToken !== undefined && typeof getToken !== 'function') {
    throw new ConfigError('authenticate options.getToken must be a function');
  }
  assertHeaderTypes(headerTypes);
  const readToken = tokenReader(headerReader(headerTypes), getToken);

  return async function authenticateBearer(ctx: Context, next: Next) {
    try {
      const checked = await checkAccessToken(deps, readToken(ctx));
      if (scope !== undefined) assertScope(checked.claims, scope);
      ctx.state['user'] = checked.claims;
      ctx.state['token'] = checked;
    } catch (caught) {
      // Only the absence of any token lets an optional request through; a bad one never does.
      if (!(optional && caught instanceof MissingTokenError)) {
        deps.telemetry?.bearerRejected(caught);
        renderError(ctx, toPluginError(caught), deps.config.logger, caught);
        return;
      }
    }
    await next();
  };
}

function tokenReader(readHeader: TokenReader, getToken: AuthenticateOptions['getToken']) {
  if (!getToken) return readHeader;
  return function readToken(ctx: Context): string {
    const token: unknown = getToken(ctx);
    if (token === undefined || token === '') return readHeader(ctx);
    if (typeof token !== 'string')
      throw new TypeError('"getToken" must return a string or undefined');
    return assertTokenSyntax(token);
  };
}
