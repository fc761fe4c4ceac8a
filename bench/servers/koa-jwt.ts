/**
 * koa-jwt configured as its README shows for public/private key pairs:
 *   var publicKey = fs.readFileSync('/path/to/public.pub');
 *   app.use(jwt({ secret: publicKey }));
 * (no revocation check: the README's `isRevoked` is an opt-in the host writes itself).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Koa from 'koa';
import jwt from 'koa-jwt';
import { SignJWT, importPKCS8 } from 'jose';
import { sampleClaims, serve, settings, type Minted, type MintRequest } from './child.js';

const config = settings();
const publicKey = Buffer.from(config.publicKeyPem);

const app = new Koa();
app.use(jwt({ secret: publicKey }));
app.use((ctx) => {
  if (ctx.path === '/api/me') ctx.body = ctx.state['user'];
});

async function mint(request: MintRequest): Promise<Minted> {
  const privateKey = await importPKCS8(config.privateKeyPem, config.alg);
  const access = await Promise.all(
    Array.from({ length: request.count }, () => {
      const id = () => randomBytes(16).toString('base64url');
      return new SignJWT(sampleClaims(config.issuer, 'T', id(), id()))
        .setProtectedHeader({ alg: config.alg, kid: 'bench', typ: 'at+jwt' })
        .sign(privateKey);
    }),
  );
  return { access, refresh: [] };
}

await serve(createServer(app.callback()), mint);
