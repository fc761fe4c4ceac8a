/**
 * The demo app: the whole wiring of koa-jwtconnect into a Koa app. This is the file to copy.
 * Two logins reach the same hook (the plugin's throttled password route and a simulated SAML SSO),
 * one API is protected, and the plugin's routes (refresh, introspection, revocation, JWKS, audit,
 * sessions, login) are mounted.
 * The OpenTelemetry metrics SDK reads the plugin's metrics, served for Prometheus at /metrics.
 */
import { Router } from '@koa/router';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { jwtconnect, type JwtConnect, type JwtConnectOptions } from '../lib/index.js';
import { publicFiles, securityHeaders } from './pages.js';
import { createDemoSso, signedInPage } from './sso.js';
import { checkPassword, findUser, scopeOf } from './users.js';

export type DemoAppOptions = Pick<JwtConnectOptions, 'store' | 'keys' | 'subjectSecret'> &
  Partial<Pick<JwtConnectOptions, 'issuer' | 'algorithm' | 'clock' | 'logger'>>;

export async function createDemoApp(
  options: DemoAppOptions,
): Promise<{ app: Koa; auth: JwtConnect }> {
  const issuer = options.issuer ?? 'http://127.0.0.1:3000';
  // The SDK, as a host installs it: a Prometheus reader that answers scrapes from this app's own
  // server (no server of its own). Passed in rather than set globally, so tests can run several.
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ readers: [prometheus] });
  const auth = await jwtconnect({
    issuer,
    algorithm: 'ES256',
    telemetry: { meterProvider },
    ...options,
  });
  const sso = await createDemoSso({ audience: `${issuer}/sso/acs`, clock: auth.config.clock });
  // The plugin's routes parse their own bodies; these parse only the demo's forms.
  const form = bodyParser({ enableTypes: ['json', 'form'], jsonLimit: '16kb', formLimit: '16kb' });
  const router = new Router();

  // 1. Password login: the plugin's login route at /login. The app checks the password; the route
  //    throttles failed attempts (429), then issues the pair through the same hook as any login.
  //    A hand-written password route would have no throttle: anyone could guess without limit.
  const routes = auth.routes({
    paths: { login: '/login' },
    login: { verifyPassword: checkPassword, scope: (_ctx, user) => scopeOf(user) },
  });

  // 2. Single sign-on: the ACS checks the IdP's assertion, then the same hook issues the pair.
  router.get('/sso/idp', sso.idpPage);
  router.post('/sso/idp', form, sso.idpSignIn);
  router.post(
    '/sso/acs',
    form,
    sso.acs,
    auth.loginHook({
      source: 'saml',
      method: 'demo-idp',
      scope: (_ctx, user) => scopeOf(user),
      respond: false,
    }),
    (ctx) => {
      ctx.set('Cache-Control', 'no-store');
      ctx.type = 'html';
      ctx.body = signedInPage(ctx.state['tokens']);
    },
  );

  // 3. A protected API: Bearer access token, revocation enforced; the claims are on ctx.state.user.
  router.get('/api/me', auth.authenticate(), (ctx) => {
    ctx.body = ctx.state['user'];
  });

  // 4. Demo-only helpers for the audit page, for callers with the audit scope.
  const auditor = auth.authenticate({ scope: auth.config.scopes.audit });
  router.get('/demo/subject', auditor, (ctx) => {
    const user = findUser(String(ctx.query['username'] ?? ''));
    ctx.status = user ? 200 : 404;
    ctx.body = user
      ? { username: user.username, sub: auth.subjectOf(user) }
      : { error: 'not_found', error_description: 'no such demo user' };
  });
  router.get('/demo/verify', auditor, async (ctx) => {
    ctx.body = await auth.audit.verify();
  });

  // 5. Prometheus text exposition of the plugin's metrics. Open here, as the demo listens on
  // 127.0.0.1 only; a real deployment keeps /metrics off the public network.
  router.get('/metrics', (ctx) => {
    ctx.respond = false;
    prometheus.getMetricsRequestHandler(ctx.req, ctx.res);
  });

  const app = new Koa();
  app.use(securityHeaders());
  app.use(routes);
  app.use(router.routes()).use(router.allowedMethods());
  app.use(
    await publicFiles({ '/': 'index.html', '/audit': 'audit.html', '/sessions': 'sessions.html' }),
  );
  return { app, auth };
}
