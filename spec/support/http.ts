/**
 * HTTP for specs: apps on a real local server (127.0.0.1, an ephemeral port), reached with Node's
 * global fetch. `startApp` serves the plugin's routes; `serve` any Koa app or request listener.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Router } from '@koa/router';
import Koa from 'koa';
import type { JwtConnect } from '../../lib/jwtconnect.js';
import type { RoutesOptions } from '../../lib/routes/index.js';
import type { TokenResponse } from '../../lib/sessions/deps.js';
import type { TokenClaims } from '../../lib/tokens/claims.js';

export interface Served {
  readonly url: string;
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

/** The plugin's routes, served (see `startApp`). */
export type TestApp = Served;

/**
 * Serves `app` until `close`. The header limit is raised from Node's 16 kB so that oversized tokens
 * reach the plugin, which must answer them itself, instead of Node answering 431 first.
 */
export async function serve(app: Koa | RequestListener): Promise<Served> {
  const listener = typeof app === 'function' ? app : app.callback();
  const server = createServer({ maxHeaderSize: 64 * 1024 }, listener);
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

/** A plain server that counts every request it receives (for jku / x5u headers). */
export async function countingServer(): Promise<Served & { requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const served = await serve((req, res) => {
    requests.push(req);
    res.setHeader('content-type', 'application/json');
    res.end('{"keys":[]}');
  });
  return { ...served, requests };
}

export interface TestAppOptions {
  routes?: RoutesOptions;
  /** Trust `X-Forwarded-For`, so a test can speak for several client IPs. */
  proxy?: boolean;
}

/** The plugin's routes and an `auth.authenticate()`-protected `GET /api/me`, served. */
export function startApp(auth: JwtConnect, options: TestAppOptions = {}): Promise<TestApp> {
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
  return serve(app);
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
  const body = isJson(response.headers, text) ? (JSON.parse(text) as Record<string, unknown>) : {};
  return { status: response.status, headers: response.headers, text, body };
}

function isJson(headers: Headers, text: string): boolean {
  return (headers.get('content-type') ?? '').includes('json') && text !== '';
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

export interface Answer {
  status: number;
  headers: Headers;
  /** The body parsed when it is JSON, else the text as received. */
  body: unknown;
}

/** A request with an optional `Authorization` header, as middleware specs send it. */
export async function call(
  url: string,
  authorization?: string,
  init: RequestInit = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (authorization !== undefined) headers.set('authorization', authorization);
  const reply = await request(url, { ...init, headers });
  const body = isJson(reply.headers, reply.text) ? reply.body : reply.text;
  return { status: reply.status, headers: reply.headers, body };
}
