/**
 * Response headers shared by the routes.
 */
import type { Context, Next } from 'koa';

/**
 * Responses that carry tokens or token data must not be stored by any cache (RFC 6749 section 5.1,
 * RFC 7662 section 2.2). Set first, so error answers of the same route carry them too.
 */
export async function noStore(ctx: Context, next: Next): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  await next();
}
