/**
 * New signing keys as file contents: a key pair (PEM or JWK) or an HMAC secret, with the kid the
 * plugin will use for it (RFC 7638 thumbprint of the public JWK unless one is given, the same
 * default `loadKeys` applies). Nothing here touches the disk.
 */
import { KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, generateKeyPair, generateSecret, type JWK } from 'jose';
import { isHmacAlgorithm, type SigningAlgorithm } from '../tokens/algorithms.js';
import { publicJwkOf } from '../tokens/keys.js';

export type KeyFormat = 'pem' | 'jwk';

export interface KeyFile {
  name: string;
  contents: string | Uint8Array;
  /** Private keys and secrets are written with mode 0600. */
  secret: boolean;
  what: string;
}

export interface KeyMaterial {
  alg: SigningAlgorithm;
  kid: string;
  files: KeyFile[];
}

export interface KeyRequest {
  alg: SigningAlgorithm;
  format: KeyFormat;
  kid?: string;
  /** RSA modulus length in bits (RS*, PS*). Default 2048. */
  modulusLength?: number;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

async function secretMaterial(request: KeyRequest): Promise<KeyMaterial> {
  const { alg, format } = request;
  // jose sizes the secret to the hash output: 32, 48 or 64 bytes (RFC 7518 section 3.2).
  const secret = KeyObject.from(await generateSecret(alg, { extractable: true })).export();
  const k = secret.toString('base64url');
  const kid = request.kid ?? (await calculateJwkThumbprint({ kty: 'oct', k }));
  const file: KeyFile =
    format === 'jwk'
      ? {
          name: 'secret.jwk.json',
          contents: json({ kty: 'oct', k, alg, kid, use: 'sig' }),
          secret: true,
          what: `${alg} secret (JWK)`,
        }
      : {
          name: 'secret.key',
          contents: new Uint8Array(secret),
          secret: true,
          what: `${alg} secret (${secret.length} random bytes)`,
        };
  return { alg, kid, files: [file] };
}

async function pairMaterial(request: KeyRequest): Promise<KeyMaterial> {
  const { alg, format } = request;
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(request.modulusLength !== undefined && { modulusLength: request.modulusLength }),
  });
  const privateKey = KeyObject.from(pair.privateKey);
  const publicKey = KeyObject.from(pair.publicKey);
  const jwk = publicJwkOf(publicKey);
  const kid = request.kid ?? (await calculateJwkThumbprint(jwk));
  if (format === 'jwk') {
    const extra = { alg, kid, use: 'sig' };
    return {
      alg,
      kid,
      files: [
        {
          name: 'private.jwk.json',
          contents: json({ ...(privateKey.export({ format: 'jwk' }) as JWK), ...extra }),
          secret: true,
          what: `${alg} private key (JWK)`,
        },
        {
          name: 'public.jwk.json',
          contents: json({ ...jwk, ...extra }),
          secret: false,
          what: `${alg} public key (JWK)`,
        },
      ],
    };
  }
  return {
    alg,
    kid,
    files: [
      {
        name: 'private.key',
        contents: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        secret: true,
        what: `${alg} private key (PKCS#8 PEM)`,
      },
      {
        name: 'public.pem',
        contents: publicKey.export({ type: 'spki', format: 'pem' }) as string,
        secret: false,
        what: `${alg} public key (SPKI PEM)`,
      },
    ],
  };
}

/** Generates a key for `alg` as the files `keys generate` writes. */
export function generateKeyMaterial(request: KeyRequest): Promise<KeyMaterial> {
  return isHmacAlgorithm(request.alg) ? secretMaterial(request) : pairMaterial(request);
}
