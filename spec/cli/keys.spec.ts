import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { compactVerify, importJWK } from 'jose';
import { ACCESS_TOKEN_TYP } from '../../lib/tokens/claims.js';
import { loadKeys, type KeySource, type SigningAlgorithm } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { verifyToken } from '../../lib/tokens/verify.js';
import { fakeClock } from '../support/clock.js';
import { tempDir, type TempDir } from '../support/keys.js';
import { accessClaims, verifyOptions } from '../support/tokens.js';
import { cli } from './run.js';

async function mode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

/** Loads `source` as the plugin would and signs and verifies a token with it. */
async function roundTrip(source: KeySource, alg: SigningAlgorithm) {
  const keys = await loadKeys(source, { defaultAlgorithm: alg });
  expect(keys.signing.alg).to.equal(alg);
  const clock = fakeClock();
  const jwt = await signToken(keys, ACCESS_TOKEN_TYP, accessClaims(clock));
  const { header } = await verifyToken(keys, jwt, verifyOptions(clock));
  expect(header.alg).to.equal(alg);
  return { kid: header.kid, jwt };
}

/** The kid line of the CLI's report. */
function kidOf(stdout: string): string | undefined {
  return /^kid: (\S+)/m.exec(stdout)?.[1];
}

describe('koa-jwtconnect keys generate [real binary]', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.dispose());

  it('writes an RS256 PKCS#8 private key (0600) and SPKI public key that load and sign', async () => {
    const out = join(dir.path, 'rs256');
    const { code, stdout } = await cli(['keys', 'generate', '--alg', 'RS256', '--out', out]);
    expect(code).to.equal(0);
    expect(await readFile(join(out, 'private.key'), 'utf8')).to.match(
      /^-----BEGIN PRIVATE KEY-----/,
    );
    expect(await readFile(join(out, 'public.pem'), 'utf8')).to.match(/^-----BEGIN PUBLIC KEY-----/);
    expect(await mode(join(out, 'private.key'))).to.equal(0o600);
    const { kid } = await roundTrip({ privateKeyFile: join(out, 'private.key') }, 'RS256');
    expect(kidOf(stdout)).to.equal(kid);
    expect(stdout).to.include(`wrote ${join(out, 'private.key')}`);
    expect(stdout).to.not.include('PRIVATE KEY');
  });

  it('writes an ES256 key pair as JWKs carrying alg and kid [--format jwk]', async () => {
    const out = join(dir.path, 'es256');
    const args = ['keys', 'generate', '--alg', 'ES256', '--format', 'jwk', '--out', out];
    const { code, stdout } = await cli([...args, '--kid', 'es-2026']);
    expect(code).to.equal(0);
    expect(kidOf(stdout)).to.equal('es-2026');
    expect(await mode(join(out, 'private.jwk.json'))).to.equal(0o600);
    const jwk = JSON.parse(await readFile(join(out, 'private.jwk.json'), 'utf8'));
    const publicJwk = JSON.parse(await readFile(join(out, 'public.jwk.json'), 'utf8'));
    expect(publicJwk).to.include({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      kid: 'es-2026',
      use: 'sig',
    });
    expect(publicJwk).to.not.have.property('d');
    const { kid, jwt } = await roundTrip({ jwk }, 'ES256');
    expect(kid).to.equal('es-2026');
    await compactVerify(jwt, await importJWK(publicJwk, 'ES256')); // the public file verifies
  });

  it('writes an EdDSA (Ed25519) key pair', async () => {
    const out = join(dir.path, 'eddsa');
    const { code, stdout } = await cli(['keys', 'generate', '--alg', 'EdDSA', '--out', out]);
    expect(code).to.equal(0);
    expect(await mode(join(out, 'private.key'))).to.equal(0o600);
    const { kid } = await roundTrip(
      { privateKeyFile: join(out, 'private.key'), alg: 'EdDSA' },
      'EdDSA',
    );
    expect(kidOf(stdout)).to.equal(kid);
  });

  it('writes an HS256 secret of 32 random bytes, with a warning about shared secrets', async () => {
    const out = join(dir.path, 'hs256');
    const { code, stdout, stderr } = await cli([
      'keys',
      'generate',
      '--alg',
      'HS256',
      '--out',
      out,
    ]);
    expect(code).to.equal(0);
    const secret = await readFile(join(out, 'secret.key'));
    expect(secret).to.have.length(32);
    expect(await mode(join(out, 'secret.key'))).to.equal(0o600);
    const { kid } = await roundTrip({ secret: new Uint8Array(secret), alg: 'HS256' }, 'HS256');
    expect(kidOf(stdout)).to.equal(kid);
    expect(stderr).to.include('prefer ES256 or EdDSA');
  });

  it("writes django-jwtconnect-auth's private.key + public.cert pair [--x509 RS256]", async () => {
    const out = join(dir.path, 'x509');
    const args = [
      'keys',
      'generate',
      '--alg',
      'RS256',
      '--x509',
      '--out',
      out,
      '--kid',
      'django/1',
    ];
    const { code, stdout } = await cli(args);
    expect(code).to.equal(0);
    expect(await mode(join(out, 'private.key'))).to.equal(0o600);
    const cert = await readFile(join(out, 'public.cert'), 'utf8');
    expect(cert).to.match(/^-----BEGIN CERTIFICATE-----/);
    const source = {
      privateKeyFile: join(out, 'private.key'),
      certificateFile: join(out, 'public.cert'),
    };
    expect((await roundTrip({ ...source, kid: 'django/1' }, 'RS256')).kid).to.equal('django/1');
    expect(stdout).to.include(`certificateFile: '${join(out, 'public.cert')}'`);
    expect(new X509Certificate(cert).subject).to.equal('CN=django/1');
  });

  it('refuses to overwrite existing files without --force, and replaces them with it', async () => {
    const out = join(dir.path, 'rs256');
    const before = await readFile(join(out, 'private.key'), 'utf8');
    const refused = await cli(['keys', 'generate', '--alg', 'ES256', '--out', out]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.equal(
      `error: ${join(out, 'private.key')} exists; pass --force to overwrite it\n`,
    );
    expect(await readFile(join(out, 'private.key'), 'utf8')).to.equal(before);

    const forced = await cli(['keys', 'generate', '--alg', 'ES256', '--out', out, '--force']);
    expect(forced.code).to.equal(0);
    expect(await mode(join(out, 'private.key'))).to.equal(0o600);
    await roundTrip({ privateKeyFile: join(out, 'private.key') }, 'ES256');
  });
});
