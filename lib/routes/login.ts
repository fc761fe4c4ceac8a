/**
 * `POST /token/login` (optional, off unless `login` is configured): django-jwtconnect-auth's
 * "authentication web resource where to submit username and password", for apps without SSO.
 * The host checks the password; a correct one goes through the same hook as any other login.
 *
 * A wrong password and an unknown user get the same 401 `invalid_grant` body. Failures are
 * throttled per username from one client address, per client address and per username from all
 * addresses, per instance: 429 with `Retry-After` (see `shared/throttle.ts`).
 */
import type { Context, Middleware, Next } from 'koa';
import { InvalidCredentialsError, InvalidRequestError } from '../errors.js';
import type { SessionDeps } from '../sessions/deps.js';
import { issueSession } from '../sessions/issue.js';
import { traced } from '../telemetry/telemetry.js';
import type { LoginRouteOptions } from './options.js';
import { parseBody, type BodyOptions } from './shared/body.js';
import { noStore } from './shared/headers.js';
import { paramsOf, validateParams } from './shared/params.js';
import { required, routeState } from './shared/request-state.js';
import { LoginThrottle } from './shared/throttle.js';

export const loginSchema = {
  type: 'object',
  properties: {
    username: { type: 'string', minLength: 1, maxLength: 256 },
    password: { type: 'string', minLength: 1, maxLength: 1024 },
  },
} as const;

interface LoginParams {
  username?: string;
  password?: string;
}

const WRONG_CREDENTIALS = 'the username or password is not correct';

export function loginRoute(
  deps: SessionDeps,
  body: BodyOptions,
  options: LoginRouteOptions,
): Middleware[] {
  // Instance state: one throttle per router, never shared through the module.
  const throttle = new LoginThrottle(deps.config.clock, options.throttle);
  return [
    noStore,
    parseBody(body),
    validateParams(loginSchema, 'body'),
    validateCredentialsPresence,
    countFailures(deps),
    throttleFailures(throttle),
    checkPassword(options),
    issueTokens(deps, options),
  ];
}

async function validateCredentialsPresence(ctx: Context, next: Next): Promise<void> {
  const { username, password } = paramsOf<LoginParams>(ctx);
  if (username === undefined || password === undefined) {
    throw new InvalidRequestError('"username" and "password" are required');
  }
  await next();
}

/** Login failures for the metrics: wrong credentials and throttled attempts. */
function countFailures(deps: SessionDeps): Middleware {
  return async function countFailures(ctx: Context, next: Next) {
    try {
      await next();
    } catch (error) {
      deps.telemetry?.loginFailed(error);
      throw error;
    }
  };
}

/**
 * Counts the attempt before the password is checked (so parallel guesses cannot overrun the
 * limit), keeps it when the password was wrong, and gives it back otherwise.
 */
function throttleFailures(throttle: LoginThrottle): Middleware {
  return async function throttleFailures(ctx: Context, next: Next) {
    const username = paramsOf<LoginParams>(ctx).username as string;
    const counters = throttle.countersFor(username, ctx.ip);
    throttle.take(counters);
    try {
      await next();
    } catch (error) {
      if (!(error instanceof InvalidCredentialsError)) throttle.refund(counters);
      throw error;
    }
    throttle.forgive(counters);
  };
}

function checkPassword(options: LoginRouteOptions): Middleware {
  return async function checkPassword(ctx: Context, next: Next) {
    const { username, password } = paramsOf<LoginParams>(ctx) as Required<LoginParams>;
    const user: unknown = await options.verifyPassword(username, password);
    if (user === null || user === undefined) throw new InvalidCredentialsError(WRONG_CREDENTIALS);
    if (typeof user !== 'object') {
      throw new TypeError('login.verifyPassword must return a user object or null');
    }
    routeState(ctx).loginUser = user;
    await next();
  };
}

function issueTokens(deps: SessionDeps, options: LoginRouteOptions): Middleware {
  return async function issueTokens(ctx: Context) {
    const user = required(ctx, 'loginUser', 'checkPassword');
    const scope = typeof options.scope === 'function' ? options.scope(ctx, user) : options.scope;
    const how = {
      ctx,
      source: options.source ?? 'password',
      ...(options.method !== undefined && { method: options.method }),
      ...(scope !== undefined && { scope }),
    };
    ctx.body = await traced(deps.telemetry, 'issue', () => issueSession(deps, user, how));
  };
}
