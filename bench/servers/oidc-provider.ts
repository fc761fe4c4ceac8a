/**
 * node-oidc-provider, the peer for introspection and refresh: its default in-memory adapter, one
 * confidential client authenticating with client_secret_basic, introspection enabled, refresh tokens
 * rotated on every use. Its access and refresh tokens are its defaults (opaque, kept in the adapter);
 * with the `openid` scope each refresh also signs an ID token (RS256, the configured key).
 * Grants and tokens are minted through its own models, as its tests do, instead of driving the
 * browser authorization flow.
 */
import { createPrivateKey } from 'node:crypto';
import { createServer } from 'node:http';
import { Provider, type JWK } from 'oidc-provider';
import { serve, settings, type Minted, type MintRequest } from './child.js';

const config = settings();
const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-client-secret-0123456789abcdef';
const SCOPE = 'openid offline_access';

const signingKey = {
  ...(createPrivateKey(config.privateKeyPem).export({ format: 'jwk' }) as JWK),
  kid: 'bench',
  alg: config.alg,
  use: 'sig',
} as JWK;

const provider = new Provider(config.issuer, {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://client.example.org/cb'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['bench-cookie-key-0123456789abcdef'] },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true, allowedPolicy: () => true },
  },
  rotateRefreshToken: true,
  // Ours' lifetimes (access 1800 s, refresh 3600 s).
  ttl: { AccessToken: 1800, RefreshToken: 3600, IdToken: 1800, Grant: 3600 },
});

async function mint(request: MintRequest): Promise<Minted> {
  const client = await provider.Client.find(CLIENT_ID);
  if (!client) throw new Error('the benchmark client is not configured');
  const minted: Minted = {
    access: [],
    refresh: [],
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`,
    },
  };
  for (let i = 0; i < request.count; i++) {
    const accountId = `user-${i % 10}`;
    const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
    grant.addOIDCScope(SCOPE);
    const grantId = await grant.save();
    const fields = { accountId, client, grantId, scope: SCOPE, gty: 'authorization_code' };
    minted.access.push(await new provider.AccessToken(fields).save());
    const authTime = Math.floor(Date.now() / 1000);
    minted.refresh.push(await new provider.RefreshToken({ ...fields, authTime }).save());
  }
  return minted;
}

await serve(createServer(provider.callback()), mint);
