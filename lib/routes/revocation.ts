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
import { InvalidRequestError, InvalidTokenError } from '../errors.js';
import { verifyAs, type SessionDeps } from '../sessions/deps.js';
import { hasScope } from '../sessions/introspect.js';
import type { RevocationView } from '../sessions/revocation-view.js';
import { revoke } from '../sessions/revoke.js';
import {
  ACCESS_TOKEN_TYP,
  REFRESH_TOKEN_TYP,
  type TokenClaims,
  type TokenTyp,
} from '../tokens/claims.js';
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

export function revocationRoute(
  deps: SessionDeps,
  view: RevocationView | undefined,
  body: BodyOptions,
): Middleware[] {
  return [
    noStore,
    authenticateCaller(deps, view),
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
    const claims = await presentedToken(deps, token as string, hint);
    if (claims && (claims.sub === caller.sub || hasScope(caller, deps.config.scopes.admin))) {
      await revoke(
        deps,
        { jti: claims.jti },
        { reason: 'revoked_by_client', actor: caller.sub, ctx },
      );
    }
    // 200 with an empty body (section 2.2); Koa would turn a null body into 204.
    ctx.status = 200;
    ctx.body = '';
    ctx.remove('Content-Type');
  };
}

/**
 * The claims of the presented token if it is a valid access or refresh token of this issuer.
 * The hint orders the attempts and never limits them (RFC 7009 section 2.1). Expired tokens do
 * not verify: they are dead already.
 */
async function presentedToken(
  deps: SessionDeps,
  token: string,
  hint: string | undefined,
): Promise<TokenClaims | null> {
  const order: TokenTyp[] =
    hint === 'refresh_token'
      ? [REFRESH_TOKEN_TYP, ACCESS_TOKEN_TYP]
      : [ACCESS_TOKEN_TYP, REFRESH_TOKEN_TYP];
  for (const typ of order) {
    try {
      return (await verifyAs(deps, token, typ)).claims;
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
    }
  }
  return null;
}
