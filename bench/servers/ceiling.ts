/**
 * The ceiling: bare Koa and jose, no store, nothing else.
 * - GET /api/me: `jwtVerify` with a key imported once (what verification alone costs);
 * - POST /login: two jose signatures per request, claims shaped like ours (what signing alone costs).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Koa from 'koa';
import { SignJWT, importPKCS8, importSPKI, jwtVerify } from 'jose';
import { sampleClaims, serve, settings, type Minted, type MintRequest } from './child.js';

const config = settings();
const privateKey = await importPKCS8(config.privateKeyPem, config.alg);
const publicKey = await importSPKI(config.publicKeyPem, config.alg);
const header = { alg: config.alg, kid: 'bench' };

function sign(ttype: 'T' | 'R', sid: string): Promise<string> {
  const claims = sampleClaims(config.issuer, ttype, randomBytes(16).toString('base64url'), sid);
  return new SignJWT(claims)
    .setProtectedHeader({ ...header, typ: ttype === 'T' ? 'at+jwt' : 'rt+jwt' })
    .sign(privateKey);
}

const app = new Koa();
app.use(async (ctx) => {
  if (ctx.method === 'GET' && ctx.path === '/api/me') {
    const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    try {
      if (!token) throw new Error('no token');
      const { payload } = await jwtVerify(token, publicKey, {
        issuer: config.issuer,
        algorithms: [config.alg],
      });
      ctx.body = payload;
    } catch {
      ctx.status = 401;
    }
  } else if (ctx.method === 'POST' && ctx.path === '/login') {
    const sid = randomBytes(16).toString('base64url');
    const [accessToken, refreshToken] = await Promise.all([sign('T', sid), sign('R', sid)]);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      access_token: accessToken,
      refresh_token: refreshToken,
      token_type: 'Bearer',
      expires_in: 1800,
    };
  } else {
    ctx.status = 404;
  }
});

async function mint(request: MintRequest): Promise<Minted> {
  const access = await Promise.all(
    Array.from({ length: request.count }, () => sign('T', randomBytes(16).toString('base64url'))),
  );
  return { access, refresh: [] };
}

await serve(createServer(app.callback()), mint);
