/**
 * Test keys, generated at test time (never committed): every format the key loader reads.
 */
import { execFile } from 'node:child_process';
import { KeyObject, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPair, type JWK } from 'jose';
import type { HmacAlgorithm, SigningAlgorithm } from '../../lib/tokens/algorithms.js';
import { loadKeys, type KeySet } from '../../lib/tokens/keys.js';

export type AsymmetricAlgorithm = Exclude<SigningAlgorithm, HmacAlgorithm>;

export const ASYMMETRIC_ALGORITHMS: readonly AsymmetricAlgorithm[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'EdDSA',
];
export const HMAC_ALGORITHMS: readonly HmacAlgorithm[] = ['HS256', 'HS384', 'HS512'];

export interface TestKeyPair {
  readonly alg: AsymmetricAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** PKCS#8 */
  readonly privatePem: string;
  /** SPKI */
  readonly publicPem: string;
  /** PKCS#1 (RSA) or SEC1 (EC); undefined for Ed25519. */
  readonly legacyPrivatePem: string | undefined;
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

/** A fresh key pair for `alg`. */
export async function newKeyPair(alg: AsymmetricAlgorithm): Promise<TestKeyPair> {
  const pair = await generateKeyPair(alg, { extractable: true });
  const privateKey = KeyObject.from(pair.privateKey);
  const publicKey = KeyObject.from(pair.publicKey);
  const type = privateKey.asymmetricKeyType;
  const legacy = type === 'rsa' ? 'pkcs1' : type === 'ec' ? 'sec1' : undefined;
  return {
    alg,
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    legacyPrivatePem: legacy
      ? (privateKey.export({ type: legacy, format: 'pem' }) as string)
      : undefined,
    privateJwk: privateKey.export({ format: 'jwk' }) as JWK,
    publicJwk: publicKey.export({ format: 'jwk' }) as JWK,
  };
}

const cache = new Map<AsymmetricAlgorithm, Promise<TestKeyPair>>();

/** One shared key pair per algorithm for the whole run (RSA generation is slow). */
export function keyPair(alg: AsymmetricAlgorithm): Promise<TestKeyPair> {
  let pair = cache.get(alg);
  if (pair === undefined) {
    pair = newKeyPair(alg);
    cache.set(alg, pair);
  }
  return pair;
}

/** The loaded key set of the shared ES256 pair under kid `k1`: the token specs' usual signer. */
export async function es256KeySet(): Promise<KeySet> {
  return loadKeys(
    { privateKeyPem: (await keyPair('ES256')).privatePem, kid: 'k1' },
    { defaultAlgorithm: 'ES256' },
  );
}

/** A 1024-bit RSA key, too short to be accepted. */
export function shortRsaPem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Random bytes of the minimum length RFC 7518 section 3.2 allows for `alg`. */
export function secretFor(alg: HmacAlgorithm): Uint8Array {
  return new Uint8Array(randomBytes({ HS256: 32, HS384: 48, HS512: 64 }[alg]));
}

export interface TempDir {
  readonly path: string;
  write(name: string, text: string): Promise<string>;
  dispose(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), 'jwtconnect-keys-'));
  return {
    path,
    async write(name, text) {
      const file = join(path, name);
      await writeFile(file, text, { mode: 0o600 });
      return file;
    },
    dispose: () => rm(path, { recursive: true, force: true }),
  };
}

const run = promisify(execFile);

/** A self-signed X.509 certificate for an existing private key file; returns the cert file. */
export async function selfSignedCertificate(keyFile: string): Promise<string> {
  const certFile = `${keyFile}.cert`;
  await opensslCertificate(['-key', keyFile], certFile);
  return certFile;
}

/** `openssl req -x509` for CN=test, valid one day; `keyArgs` name or create the key. */
async function opensslCertificate(keyArgs: string[], certFile: string): Promise<void> {
  await run('openssl', [
    'req',
    '-x509',
    ...keyArgs,
    '-out',
    certFile,
    '-days',
    '1',
    '-subj',
    '/CN=test',
  ]);
}

/**
 * What django-jwtconnect-auth's README runs:
 * `openssl req -nodes -new -x509 -days 3650 -keyout certs/private.key -out certs/public.cert`.
 */
export async function opensslKeyAndCertificate(
  dir: TempDir,
  prefix = 'django',
): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = join(dir.path, `${prefix}-private.key`);
  const certFile = join(dir.path, `${prefix}-public.cert`);
  await opensslCertificate(['-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile], certFile);
  return { keyFile, certFile };
}
