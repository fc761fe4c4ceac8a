/**
 * Reading configured key sources (files, PEM text, JWKs, secrets) into node:crypto key objects.
 * Parsing is left to node:crypto and jose; this file only says which source went wrong and why,
 * naming the option (`keys[0].privateKeyFile "certs/private.key"`) and never the key material.
 * Causes are not attached: node:crypto and node:fs errors may quote what they were given.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { base64url, type JWK } from 'jose';
import { KeyError } from '../errors.js';
import type { SigningAlgorithm } from './algorithms.js';

/** What every key source may set besides its key material: `kid`, `alg`, `active`. */
export interface SourceOptions {
  /** Set by the operator; otherwise the JWK's own `kid`, otherwise its RFC 7638 thumbprint. */
  kid?: string;
  /**
   * The key's algorithm. Default the `algorithm` option (RS256): a `secret` in `keys` needs an HS
   * one.
   */
  alg?: SigningAlgorithm;
  /** Exactly one key signs: this one, or else the first with a private key or secret. */
  active?: boolean;
}

/**
 * One key source of the `keys` or `refreshKeys` option: a PEM private key file (optionally with
 * its certificate), PEM text, a verify-only public key, a JWK, a JWKS, or a shared secret (HS*,
 * >= 32 bytes, `alg` required). Each may set `kid`, `alg` and `active`.
 *
 * @example
 * keys: { privateKeyFile: 'certs/private.key', alg: 'ES256' }
 * keys: { privateKeyFile: 'certs/private.key', certificateFile: 'certs/public.cert' } // RS256
 * keys: { secret: process.env.JWT_SECRET!, alg: 'HS256' }
 */
export type KeySource = SourceOptions &
  (
    | { privateKeyFile: string; certificateFile?: string }
    | { privateKeyPem: string; certificatePem?: string }
    | { publicKeyFile: string }
    | { publicKeyPem: string }
    | { jwk: JWK }
    | { jwks: { keys: JWK[] } }
    | { secret: string | Uint8Array }
  );

/** One key read from a source, not yet checked against its algorithm. */
export interface RawKey {
  /** Where it came from, for error messages: `keys[1]` or `keys[0].jwks.keys[2]`. */
  readonly label: string;
  readonly kid?: unknown;
  readonly alg?: unknown;
  readonly active?: unknown;
  /** The public key (asymmetric keys). */
  readonly publicKey?: KeyObject;
  /** The private key, when this source can sign. */
  readonly privateKey?: KeyObject;
  /** The shared secret (HS* keys). */
  readonly secret?: Uint8Array;
}

const KINDS = [
  'privateKeyFile',
  'privateKeyPem',
  'publicKeyFile',
  'publicKeyPem',
  'jwk',
  'jwks',
  'secret',
] as const;

/** Every member a key source may have. */
const MEMBERS: ReadonlySet<string> = new Set([
  ...KINDS,
  'certificateFile',
  'certificatePem',
  'kid',
  'alg',
  'active',
]);

/** Where PEM text goes instead of a file name option. */
const PEM_OPTION = {
  privateKeyFile: 'privateKeyPem',
  certificateFile: 'certificatePem',
  publicKeyFile: 'publicKeyPem',
} as const;

type FileOption = keyof typeof PEM_OPTION;

type Loose = Partial<
  Record<(typeof KINDS)[number] | 'certificateFile' | 'certificatePem', unknown>
> &
  SourceOptions;

function fail(where: string, problem: string): never {
  throw new KeyError(`${where}: ${problem}`);
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(where, 'must be a non-empty string');
  return value;
}

/**
 * Key material passed where a file name was expected (common when a key comes from an environment
 * variable) is named for what it is, and never quoted (README "Keys": no key in any message).
 */
function refuseMaterialAsFileName(value: string, where: string, option: FileOption): void {
  if (/-----(BEGIN|END) /.test(value)) {
    fail(
      where,
      `looks like PEM key material, not a file name: pass the text as ${PEM_OPTION[option]}`,
    );
  }
  if (/^\s*[{[]/.test(value)) {
    fail(where, 'looks like a JWK, not a file name: pass the parsed object as jwk (or jwks)');
  }
}

/**
 * Whether an unreadable file name may be quoted: it reads as a file name (no control characters,
 * of a sane length) and either ends in an extension or lies in an existing directory. A secret
 * or a base64 key without armour passes neither test, so it is never echoed.
 */
async function quotable(path: string): Promise<boolean> {
  if (path.length > 1024 || /[\p{Cc}]/u.test(path)) return false;
  if (/[^/\\]\.[A-Za-z0-9]{1,10}$/.test(path)) return true;
  const directory = dirname(path);
  if (directory === '.' || directory === '/' || directory === path) return false;
  return stat(directory).then(
    (found) => found.isDirectory(),
    () => false,
  );
}

async function readText(
  file: unknown,
  where: string,
  option: FileOption,
): Promise<[string, string]> {
  const path = expectString(file, where);
  refuseMaterialAsFileName(path, where, option);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const reason = `cannot read the file (${typeof code === 'string' ? code : 'error'})`;
    if (await quotable(path)) throw new KeyError(`${where} "${path}": ${reason}`);
    throw new KeyError(
      `${where}: ${reason}; the value is not shown as it does not look like a file name`,
    );
  }
  // Read, so it is a file name: quoting it names the file in every later message.
  return [text, `${where} "${path}"`];
}

function privateFromPem(pem: string, at: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return fail(at, 'is not an unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)');
  }
}

/** SPKI, PKCS#1 public key or X.509 certificate PEM: only a public key may be configured here. */
function publicFromPem(pem: string, at: string): KeyObject {
  // createPublicKey would silently derive the public half of a private key; refuse that instead
  // so that a private key never sits in an option that claims to be public.
  if (pem.includes('PRIVATE KEY-----')) {
    fail(at, 'holds a private key; use privateKeyFile or privateKeyPem for it');
  }
  try {
    const key = createPublicKey({ key: pem, format: 'pem' });
    if (key.type !== 'public') throw new TypeError('not a public key');
    return key;
  } catch {
    return fail(at, 'is not a PEM public key or X.509 certificate');
  }
}

function certificateKey(pem: string, at: string, privateKey: KeyObject): KeyObject {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return fail(at, 'is not a PEM X.509 certificate');
  }
  const publicKey = createPublicKey(privateKey);
  if (!cert.publicKey.equals(publicKey)) {
    fail(at, "the certificate's public key does not match the private key");
  }
  return publicKey;
}

function fromJwk(jwk: unknown, where: string, options: SourceOptions): RawKey {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) fail(where, 'must be a JWK');
  const { kty, use, kid, alg } = jwk as JWK;
  if (use !== undefined && use !== 'sig') fail(where, `has "use": "${String(use)}", not "sig"`);
  const base = { label: where, kid: options.kid ?? kid, alg: options.alg ?? alg };
  if (kty === 'oct') {
    const { k } = jwk as JWK;
    if (typeof k !== 'string') fail(where, 'is an "oct" JWK without "k"');
    try {
      return { ...base, active: options.active, secret: base64url.decode(k) };
    } catch {
      return fail(where, 'has a "k" that is not base64url');
    }
  }
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') {
    fail(where, `has an unsupported "kty" (${typeof kty === 'string' ? kty : typeof kty})`);
  }
  const input = { key: jwk as Parameters<typeof createPublicKey>[0] & object, format: 'jwk' };
  try {
    if ('d' in jwk) {
      const privateKey = createPrivateKey(input as Parameters<typeof createPrivateKey>[0]);
      return {
        ...base,
        active: options.active,
        privateKey,
        publicKey: createPublicKey(privateKey),
      };
    }
    const publicKey = createPublicKey(input as Parameters<typeof createPublicKey>[0]);
    return { ...base, active: options.active, publicKey };
  } catch {
    return fail(where, `is not a usable ${kty} JWK`);
  }
}

function fromJwks(jwks: unknown, where: string, options: SourceOptions): RawKey[] {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) fail(where, 'must be { keys: [...] } with keys');
  if (keys.length > 1 && (options.kid !== undefined || options.active !== undefined)) {
    fail(where, '"kid" and "active" apply to one key; set them on each JWK source instead');
  }
  return keys.map((jwk, i) => fromJwk(jwk, `${where}.keys[${i}]`, options));
}

function fromSecret(secret: unknown, where: string): Uint8Array {
  if (typeof secret === 'string') return new Uint8Array(Buffer.from(secret, 'utf8'));
  if (secret instanceof Uint8Array) return new Uint8Array(secret);
  return fail(where, 'must be a string or a Uint8Array');
}

/** Reads one configured source (a `jwks` source gives several keys). */
export async function readKeySource(source: KeySource, label: string): Promise<RawKey[]> {
  if (typeof source !== 'object' || source === null) fail(label, 'must be an object');
  const s = source as Loose;
  const unknown = Object.keys(s).find((member) => !MEMBERS.has(member));
  if (unknown !== undefined) {
    const hint = /key|cert|pem/i.test(unknown)
      ? '; PEM text goes in privateKeyPem, certificatePem or publicKeyPem'
      : '';
    fail(label, `"${unknown}" is not a key source member${hint}`);
  }
  const kinds = KINDS.filter((k) => s[k] !== undefined);
  const [kind] = kinds;
  if (kind === undefined || kinds.length !== 1) {
    fail(label, `must have exactly one of ${KINDS.join(', ')}`);
  }
  const hasCert = s.certificateFile !== undefined || s.certificatePem !== undefined;
  if (hasCert && kind !== 'privateKeyFile' && kind !== 'privateKeyPem') {
    fail(label, 'a certificate goes with privateKeyFile or privateKeyPem');
  }
  const base = { label, kid: s.kid, alg: s.alg, active: s.active };
  const where = `${label}.${kind}`;

  switch (kind) {
    case 'privateKeyFile':
    case 'privateKeyPem': {
      const [pem, at] =
        kind === 'privateKeyFile'
          ? await readText(s.privateKeyFile, where, 'privateKeyFile')
          : [expectString(s.privateKeyPem, where), where];
      const privateKey = privateFromPem(pem, at);
      let publicKey = createPublicKey(privateKey);
      if (s.certificateFile !== undefined) {
        const [certPem, certAt] = await readText(
          s.certificateFile,
          `${label}.certificateFile`,
          'certificateFile',
        );
        publicKey = certificateKey(certPem, certAt, privateKey);
      } else if (s.certificatePem !== undefined) {
        const at2 = `${label}.certificatePem`;
        publicKey = certificateKey(expectString(s.certificatePem, at2), at2, privateKey);
      }
      // Later checks (algorithm, strength) name the file too, not only the option.
      return [{ ...base, ...(kind === 'privateKeyFile' && { label: at }), privateKey, publicKey }];
    }
    case 'publicKeyFile': {
      const [pem, at] = await readText(s.publicKeyFile, where, 'publicKeyFile');
      return [{ ...base, label: at, publicKey: publicFromPem(pem, at) }];
    }
    case 'publicKeyPem':
      return [{ ...base, publicKey: publicFromPem(expectString(s.publicKeyPem, where), where) }];
    case 'jwk':
      return [fromJwk(s.jwk, where, s)];
    case 'jwks':
      return fromJwks(s.jwks, where, s);
    case 'secret':
      return [{ ...base, secret: fromSecret(s.secret, where) }];
  }
}
