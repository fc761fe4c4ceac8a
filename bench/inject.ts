/**
 * The app of bench/servers/ours.ts (routes, a login hook, a protected route) and a way to send it
 * requests in process, without sockets: what bench/drive.ts and bench/costs.ts measure is the
 * plugin, Koa, routing and body parsing, not the HTTP server or the load generator.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import type { JwtConnect } from '../lib/index.js';
import { BENCH_USER } from './servers/child.js';

export interface Answer {
  status: number;
  body: string;
}

export type Handler = ReturnType<Koa['callback']>;

/** The app bench/servers/ours.ts serves: `auth.routes()`, `POST /login`, `GET /api/me`. */
export function appOf(auth: JwtConnect, extra?: (router: Router) => void): Handler {
  const app = new Koa();
  const router = new Router();
  app.use(auth.routes());
  router.get('/api/me', auth.authenticate(), (ctx) => {
    ctx.body = ctx.state['user'];
  });
  router.post(
    '/login',
    async (ctx, next) => {
      // Whatever authenticated the user (SAML, a password form) ran here; the hook sees only the user.
      ctx.state['user'] = BENCH_USER;
      await next();
    },
    auth.loginHook({ source: 'bench' }),
  );
  extra?.(router);
  app.use(router.routes());
  return app.callback();
}

/** One request through `handle`, as the HTTP server would hand it over; the answer as written. */
export async function inject(
  handle: Handler,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: '203.0.113.7' });
  const request = new IncomingMessage(socket);
  request.method = body === undefined ? 'GET' : 'POST';
  request.url = path;
  request.headers = { 'user-agent': 'bench/1.0', ...headers };
  if (body !== undefined) {
    request.headers['content-length'] = String(Buffer.byteLength(body));
    request.push(body);
  }
  request.push(null);
  // Received in full, as the HTTP parser marks it: destroying it later is no abort.
  request.complete = true;
  const response = new ServerResponse(request);
  await handle(request, response);
  // Without a socket, Node keeps what was written (head and body) in `outputData`.
  const written = (response as unknown as { outputData: { data: string | Buffer }[] }).outputData
    .map(({ data }) => data.toString())
    .join('');
  return { status: response.statusCode, body: written.slice(written.indexOf('\r\n\r\n') + 4) };
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };

export type Operation = 'issue' | 'refresh' | 'introspection' | 'bearer';
export const OPERATIONS: readonly Operation[] = ['issue', 'refresh', 'introspection', 'bearer'];

/**
 * A sender of `operation` requests with its own tokens (`own`: a pair of the bench user; `other`:
 * another, to introspect). A refresh sender keeps its own rotation chain, each token sent once.
 */
export function sender(
  handle: Handler,
  operation: string,
  own: { access_token: string; refresh_token: string },
  other: { access_token: string },
): () => Promise<Answer> {
  let refreshToken = own.refresh_token;
  switch (operation) {
    case 'issue':
      return () => inject(handle, '/login', {}, '');
    case 'bearer':
      return () => inject(handle, '/api/me', { authorization: `Bearer ${own.access_token}` });
    case 'introspection':
      return () =>
        inject(
          handle,
          '/token/introspection',
          { ...form, authorization: `Bearer ${own.access_token}` },
          `token=${other.access_token}`,
        );
    case 'refresh':
      return async () => {
        const answer = await inject(
          handle,
          '/token/refresh',
          form,
          `grant_type=refresh_token&refresh_token=${refreshToken}`,
        );
        if (answer.status === 200) {
          refreshToken = (JSON.parse(answer.body) as { refresh_token: string }).refresh_token;
        }
        return answer;
      };
    default:
      throw new TypeError(`unknown operation "${operation}"; one of ${OPERATIONS.join(', ')}`);
  }
}
