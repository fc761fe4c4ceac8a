/**
 * The plugin's routes on a real local HTTP server, for route specs: a Koa app with `auth.routes()`
 * and an `auth.authenticate()`-protected `GET /api/me`, reached with Node's global fetch.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa from 'koa';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import type { RoutesOptions } from '../../lib/routes/index.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import type { TokenClaims } from '../../lib/tokens/claims.js';

export interface TestApp {
  readonly url: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  routes?: RoutesOptions;
  /** Trust `X-Forwarded-For`, so a test can speak for several client IPs. */
  proxy?: boolean;
}

/** Starts the app on 127.0.0.1 and an ephemeral port. */
export async function startApp(auth: JwtConnect, options: TestAppOptions = {}): Promise<TestApp> {
  const app = new Koa({ proxy: options.proxy ?? false });
  // The plugin emits what it answers with 5xx on the app; specs that provoke them need no stderr.
  app.silent = true;
  app.use(auth.routes(options.routes));
  const router = new Router();
  router.get('/api/me', auth.authenticate(), (ctx) => {
    const user = ctx.state['user'] as TokenClaims;
    ctx.body = { sub: user.sub, jti: user.jti, sid: user.sid };
  });
  app.use(router.routes());
  const server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
}

export interface Reply {
  status: number;
  headers: Headers;
  /** The body as received. */
  text: string;
  /** The body parsed, when it is JSON; otherwise (or when empty) an empty object. */
  body: Record<string, unknown>;
}

export type HeaderMap = Record<string, string>;

export async function request(url: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(url, init);
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  const json = type.includes('json') && text !== '';
  const body = json ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: response.status, headers: response.headers, text, body };
}

/** A JSON body (any value: it is serialised as given). */
export function postJson(url: string, value: unknown, headers: HeaderMap = {}): Promise<Reply> {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(value),
  });
}

/** A form body; an array value repeats the parameter. */
export function postForm(
  url: string,
  params: Record<string, string | string[]>,
  headers: HeaderMap = {},
): Promise<Reply> {
  const form = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of [value].flat()) form.append(name, one);
  }
  return postRaw(url, form.toString(), 'application/x-www-form-urlencoded', headers);
}

/** A body sent exactly as given; `contentType` undefined sends none. */
export function postRaw(
  url: string,
  body: string,
  contentType: string | undefined,
  headers: HeaderMap = {},
): Promise<Reply> {
  const all = new Headers(headers);
  if (contentType !== undefined) all.set('content-type', contentType);
  // fetch labels a string body text/plain unless told otherwise; a Uint8Array gets no type.
  return request(url, { method: 'POST', headers: all, body: new TextEncoder().encode(body) });
}

export function get(url: string, headers: HeaderMap = {}): Promise<Reply> {
  return request(url, { headers });
}

export function bearer(token: string): HeaderMap {
  return { authorization: `Bearer ${token}` };
}

/** The token pair of a 200 answer. */
export function pairOf(reply: Reply): TokenResponse {
  if (reply.status !== 200) throw new Error(`expected 200, got ${reply.status}: ${reply.text}`);
  return reply.body as unknown as TokenResponse;
}
