/**
 * `auth.routes()`: the plugin's HTTP endpoints on an @koa/router router, one file per endpoint,
 * each a list of named steps. One error step renders every failure of every route
 * (`{ error, error_description }`, RFC 6749 section 5.2 / RFC 6750 section 3.1).
 */
import { Router } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { errorHandler } from '../middleware/error-handler.js';
import type { SessionDeps } from '../sessions/deps.js';
import { auditRoute } from './audit.js';
import { introspectionRoute } from './introspection.js';
import { jwksRoute } from './jwks.js';
import { loginRoute } from './login.js';
import { resolveRoutesOptions, type RoutesOptions } from './options.js';
import { refreshRoute } from './refresh.js';
import { revocationRoute } from './revocation.js';
import { sessionsRoutes } from './sessions.js';

export {
  DEFAULT_BODY_LIMIT,
  DEFAULT_PATHS,
  routesOptionsSchema,
  type LoginRouteOptions,
  type RouteName,
  type RoutesOptions,
} from './options.js';
export { auditSchema } from './audit.js';
export { introspectionSchema } from './introspection.js';
export { loginSchema } from './login.js';
export { refreshSchema } from './refresh.js';
export { revocationSchema } from './revocation.js';
export { sessionsSchema } from './sessions.js';
export type { ThrottleOptions } from './shared/throttle.js';

/**
 * @example
 * app.use(auth.routes({ prefix: '/auth', paths: { audit: false } }));
 */
export function createRouter(deps: SessionDeps, options: RoutesOptions = {}): Middleware {
  const { prefix, paths, bodyLimit, login } = resolveRoutesOptions(options);
  const body = { limit: bodyLimit };
  const router = new Router(prefix === '' ? {} : { prefix });
  router.use(errorHandler(deps.config.logger));
  if (paths.refresh) router.post(paths.refresh, ...refreshRoute(deps, body));
  if (paths.introspection) router.post(paths.introspection, ...introspectionRoute(deps, body));
  if (paths.revocation) router.post(paths.revocation, ...revocationRoute(deps, body));
  if (paths.jwks) router.get(paths.jwks, ...jwksRoute(deps));
  if (paths.audit) router.get(paths.audit, ...auditRoute(deps));
  if (paths.sessions) {
    const sessions = sessionsRoutes(deps);
    router.get(paths.sessions, ...sessions.list);
    router.delete(paths.sessions, ...sessions.revokeOthers);
    router.delete(`${paths.sessions}/:sid`, ...sessions.revokeOne);
  }
  if (login && paths.login) router.post(paths.login, ...loginRoute(deps, body, login));

  const routes = router.routes() as Middleware;
  const allowedMethods = router.allowedMethods() as Middleware;
  // As `app.use(router.routes()).use(router.allowedMethods())`, in one middleware.
  const middleware = async function jwtconnectRoutes(ctx: Context, next: Next) {
    await routes(ctx, () => allowedMethods(ctx, next));
  };
  // A parent @koa/router (`router.use('/auth', auth.routes())`) nests the router it finds on
  // `.router`, taking its routes under its own prefix. Without it the parent would run this as
  // plain middleware with the full path, which matches no route here: a silent 404. Under
  // koa-mount, which strips its prefix from ctx.path, the middleware itself runs.
  return Object.assign(middleware, { router });
}
