/**
 * `GET /.well-known/jwks.json`: the public verification keys (RFC 7517 section 5), public members
 * only. Cacheable for a short while, so a rotated-in key is seen within minutes.
 */
import type { Context, Middleware } from 'koa';
import type { SessionDeps } from '../sessions/deps.js';

/** Seconds a client or proxy may cache the key set. */
export const JWKS_MAX_AGE_SECONDS = 300;

export function jwksRoute(deps: SessionDeps): Middleware[] {
  return [publishKeys(deps)];
}

function publishKeys(deps: SessionDeps): Middleware {
  return async function publishKeys(ctx: Context) {
    ctx.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    ctx.body = deps.keys.jwks();
  };
}
