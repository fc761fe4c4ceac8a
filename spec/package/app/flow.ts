/**
 * A consumer app, as a user would write it against the installed package: the login hook, a
 * protected route, refresh, revocation and the user's history, on the memory store. Prints one
 * JSON line with what it saw; the spec asserts on it.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import {
  jwtconnect,
  type HistoryPage,
  type LineageLink,
  type TokenAt,
  type TokenResponse,
} from 'koa-jwtconnect';

/** A host's user type: an interface, as apps have them. */
interface Account {
  id: string;
  username: string;
  email: string;
}

const { privateKey } = generateKeyPairSync('ed25519');
const auth = await jwtconnect({
  issuer: 'https://auth.example.org',
  algorithm: 'EdDSA',
  keys: { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
  subjectSecret: randomBytes(32).toString('base64url'),
  store: { memory: true },
  logger: { warn: () => undefined, error: (...args: unknown[]) => console.error(...args) },
});

const alice: Account = { id: '42', username: 'alice', email: 'alice@example.org' };
const router = new Router();
router.post(
  '/login',
  async (ctx, next) => {
    ctx.state.user = alice;
    await next();
  },
  auth.loginHook({ source: 'password', respond: false }),
  (ctx) => {
    const tokens: TokenResponse = ctx.state.tokens;
    ctx.body = tokens;
  },
);
router.get('/api/me', auth.authenticate(), (ctx) => {
  const sub: string = ctx.state.user.sub;
  const jti: string = ctx.state.token.claims.jti;
  ctx.body = { sub, jti, username: ctx.state.user['username'] };
});

const app = new Koa();
app.use(auth.routes());
app.use(router.routes());
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const statuses: number[] = [];
async function call(path: string, init: RequestInit = {}): Promise<Record<string, unknown>> {
  const response = await fetch(base + path, init);
  statuses.push(response.status);
  const text = await response.text();
  return (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
}
const form = (fields: Record<string, string>) => new URLSearchParams(fields);
const bearer = (token: unknown) => ({ authorization: `Bearer ${String(token)}` });

const first = await call('/login', { method: 'POST' });
const me = await call('/api/me', { headers: bearer(first['access_token']) });
const second = await call('/token/refresh', {
  method: 'POST',
  body: form({ refresh_token: String(first['refresh_token']) }),
});
await call('/token/revocation', {
  method: 'POST',
  headers: bearer(second['access_token']),
  body: form({ token: String(second['refresh_token']) }),
});
await call('/api/me', { headers: bearer(second['access_token']) });

const sub = auth.subjectOf(alice);
const page: HistoryPage = await auth.audit.history({ sub });
const sid = page.events[0]?.stream ?? '';
const lineage: LineageLink[] = await auth.audit.lineage(sid);
const firstToken: TokenAt = await auth.audit.tokenAt(String(me['jti']), new Date());

console.log(
  JSON.stringify({
    statuses,
    subMatches: me['sub'] === sub,
    username: me['username'],
    history: page.events.map((event) => event.type),
    lineage: lineage.map((link) => link.type).sort(),
    firstTokenKnown: firstToken !== null,
  }),
);
server.close();
await auth.close();
