/**
 * `POST /token/revocation` (RFC 7009). The caller authenticates with its own access token and may
 * revoke tokens of its own subject; with the admin scope, anyone's. A refresh token takes its whole
 * session with it (section 2.1); an access token only itself.
 *
 * The answer is 200 with an empty body whether or not anything was revoked: for unknown, invalid or
 * expired tokens (section 2.2) and for other subjects' tokens alike, so nothing is revealed.
 * A store that cannot record the revocation answers 503 with `Retry-After` (section 2.2.1).
 */
import type { Context, Middleware, Next } from 'koa';
import { InvalidRequestError } from '../errors.js';
import { verifyPresented, type SessionDeps } from '../sessions/deps.js';
import { hasScope } from '../sessions/scope.js';
import { revoke } from '../sessions/revoke.js';
import { traced } from '../telemetry/telemetry.js';
import { parseBody, type BodyOptions } from './shared/body.js';
import { authenticateCaller, callerOf } from './shared/caller.js';
import { noStore } from './shared/headers.js';
import { KEYWORD_PARAM, TOKEN_PARAM, paramsOf, validateParams } from './shared/params.js';

export const revocationSchema = {
  type: 'object',
  properties: {
    token: TOKEN_PARAM,
    token_type_hint: KEYWORD_PARAM,
  },
} as const;

interface RevocationParams {
  token?: string;
  token_type_hint?: string;
}

export function revocationRoute(deps: SessionDeps, body: BodyOptions): Middleware[] {
  return [
    noStore,
    authenticateCaller(deps),
    parseBody(body),
    validateParams(revocationSchema, 'body'),
    validateTokenPresence,
    revokeToken(deps),
  ];
}

async function validateTokenPresence(ctx: Context, next: Next): Promise<void> {
  if (paramsOf<RevocationParams>(ctx).token === undefined) {
    throw new InvalidRequestError('"token" is required');
  }
  await next();
}

function revokeToken(deps: SessionDeps): Middleware {
  return async function revokeToken(ctx: Context) {
    const { token, token_type_hint: hint } = paramsOf<RevocationParams>(ctx);
    const caller = callerOf(ctx);
    const claims = await verifyPresented(deps, token as string, hint);
    if (claims && (claims.sub === caller.sub || hasScope(caller, deps.config.scopes.admin))) {
      const how = { reason: 'revoked_by_client', actor: caller.sub, ctx };
      await traced(deps.telemetry, 'revoke', () => revoke(deps, { jti: claims.jti }, how));
    }
    // 200 with an empty body (section 2.2); Koa would turn a null body into 204.
    ctx.status = 200;
    ctx.body = '';
    ctx.remove('Content-Type');
  };
}
