import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint } from 'jose';
import { ConfigError, KeyError } from '../../lib/errors.js';
import { loadKeys, type KeySource, type SigningAlgorithm } from '../../lib/tokens/keys.js';
import {
  ASYMMETRIC_ALGORITHMS,
  HMAC_ALGORITHMS,
  keyPair,
  newKeyPair,
  opensslKeyAndCertificate,
  secretFor,
  selfSignedCertificate,
  shortRsaPem,
  tempDir,
  type TempDir,
} from '../support/keys.js';

use(chaiAsPromised);

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

describe('tokens/keys', () => {
  let dir: TempDir;
  before(async () => {
    dir = await tempDir();
  });
  after(() => dir.dispose());

  describe('loading', () => {
    it("loads django-jwtconnect-auth's openssl output (private key + X.509 certificate files)", async () => {
      const { keyFile, certFile } = await opensslKeyAndCertificate(dir);
      const keys = await loadKeys(
        { privateKeyFile: keyFile, certificateFile: certFile },
        { defaultAlgorithm: 'RS256' },
      );
      expect(keys.signing.alg).to.equal('RS256');
      expect(keys.jwks().keys).to.have.length(1);
      expect([...keys.algorithms]).to.deep.equal(['RS256']);
    });

    it('loads a PKCS#1 RSA and a SEC1 EC private key', async () => {
      const rsa = await keyPair('RS256');
      const ec = await keyPair('ES256');
      expect(rsa.legacyPrivatePem).to.include('BEGIN RSA PRIVATE KEY');
      expect(ec.legacyPrivatePem).to.include('BEGIN EC PRIVATE KEY');
      const keys = await loadKeys(
        [
          { privateKeyPem: rsa.legacyPrivatePem! },
          { privateKeyPem: ec.legacyPrivatePem!, alg: 'ES256' },
        ],
        { defaultAlgorithm: 'RS256' },
      );
      expect([...keys.algorithms].sort()).to.deep.equal(['ES256', 'RS256']);
    });

    it('takes the kid from the source, else from the JWK, else the RFC 7638 thumbprint', async () => {
      const { privatePem, publicJwk, privateJwk } = await keyPair('ES256');
      const opts = { defaultAlgorithm: 'ES256' } as const;
      const named = await loadKeys({ privateKeyPem: privatePem, kid: 'k-2026' }, opts);
      const fromJwk = await loadKeys({ jwk: { ...privateJwk, kid: 'jwk-kid' } }, opts);
      const thumb = await loadKeys({ privateKeyPem: privatePem }, opts);
      expect(named.signing.kid).to.equal('k-2026');
      expect(fromJwk.signing.kid).to.equal('jwk-kid');
      expect(thumb.signing.kid).to.equal(await calculateJwkThumbprint(publicJwk));
    });

    it("takes the algorithm from the source, else the JWK's alg, else the default", async () => {
      const { privateJwk } = await keyPair('PS256');
      const opts = { defaultAlgorithm: 'RS256' } as const;
      expect((await loadKeys({ jwk: privateJwk }, opts)).signing.alg).to.equal('RS256');
      expect((await loadKeys({ jwk: { ...privateJwk, alg: 'PS384' } }, opts)).signing.alg).to.equal(
        'PS384',
      );
      const both = await loadKeys({ jwk: { ...privateJwk, alg: 'PS384' }, alg: 'PS512' }, opts);
      expect(both.signing.alg).to.equal('PS512');
    });

    it('signs with the key marked active, else the first key that holds a private key', async () => {
      const a = await keyPair('ES256');
      const b = await newKeyPair('ES256');
      const opts = { defaultAlgorithm: 'ES256' } as const;
      const sources: KeySource[] = [
        { publicKeyPem: a.publicPem, kid: 'public' },
        { privateKeyPem: a.privatePem, kid: 'first' },
        { privateKeyPem: b.privatePem, kid: 'second' },
      ];
      expect((await loadKeys(sources, opts)).signing.kid).to.equal('first');
      sources[2] = { ...sources[2]!, active: true };
      expect((await loadKeys(sources, opts)).signing.kid).to.equal('second');
    });

    it('keeps every configured key for verification and only their algorithms', async () => {
      const rsa = await keyPair('RS256');
      const ed = await keyPair('EdDSA');
      const keys = await loadKeys(
        [
          { privateKeyPem: rsa.privatePem, kid: 'rsa' },
          { publicKeyPem: ed.publicPem, kid: 'ed', alg: 'EdDSA' },
        ],
        { defaultAlgorithm: 'RS256' },
      );
      expect(keys.verificationKey('rsa')?.alg).to.equal('RS256');
      expect(keys.verificationKey('ed')?.alg).to.equal('EdDSA');
      expect(keys.verificationKey('other')).to.equal(undefined);
      expect(keys.verificationKeys('EdDSA').map((k) => k.kid)).to.deep.equal(['ed']);
      expect(keys.verificationKeys('HS256')).to.deep.equal([]);
      expect([...keys.algorithms].sort()).to.deep.equal(['EdDSA', 'RS256']);
    });

    it('reads a verify-only key from an SPKI PEM, an X.509 certificate and a public JWK', async () => {
      const { keyFile, certFile } = await opensslKeyAndCertificate(dir, 'verify-only');
      const es = await keyPair('ES384');
      const signer = await keyPair('EdDSA');
      const keys = await loadKeys(
        [
          { privateKeyPem: signer.privatePem, alg: 'EdDSA' },
          { publicKeyFile: certFile, kid: 'cert' },
          { publicKeyPem: await readFile(certFile, 'utf8'), kid: 'cert-pem-text' },
          { publicKeyPem: es.publicPem, alg: 'ES384', kid: 'spki' },
          { jwk: es.publicJwk, alg: 'ES384', kid: 'jwk' },
        ],
        { defaultAlgorithm: 'RS256' },
      );
      expect(keyFile).to.be.a('string');
      expect(keys.signing.alg).to.equal('EdDSA');
      expect(keys.jwks().keys.map((k) => k.kid)).to.include.members(['cert', 'spki', 'jwk']);
    });

    it('expands a JWKS into one key per member', async () => {
      const a = await keyPair('ES256');
      const b = await keyPair('ES384');
      const keys = await loadKeys(
        {
          jwks: {
            keys: [
              { ...a.privateJwk, kid: 'a' },
              { ...b.publicJwk, kid: 'b', alg: 'ES384' },
            ],
          },
        },
        { defaultAlgorithm: 'ES256' },
      );
      expect(keys.signing.kid).to.equal('a');
      expect(keys.jwks().keys.map((k) => k.kid)).to.deep.equal(['a', 'b']);
    });

    it('warns once when shared secrets are configured', async () => {
      const warnings: string[] = [];
      await loadKeys(
        [
          { secret: secretFor('HS256'), kid: 'one' },
          { secret: secretFor('HS256'), kid: 'two' },
        ],
        { defaultAlgorithm: 'HS256', warn: (m) => warnings.push(m) },
      );
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include('asymmetric');
      const none: string[] = [];
      await loadKeys(
        { privateKeyPem: (await keyPair('ES256')).privatePem },
        {
          defaultAlgorithm: 'ES256',
          warn: (m) => none.push(m),
        },
      );
      expect(none).to.deep.equal([]);
    });
  });

  describe('jwks', () => {
    for (const alg of ASYMMETRIC_ALGORITHMS) {
      it(`publishes public members only, with kid, alg and use [${alg}]`, async () => {
        const { privateJwk, publicJwk } = await keyPair(alg);
        const keys = await loadKeys({ jwk: privateJwk, kid: 'k1' }, { defaultAlgorithm: alg });
        const [jwk] = keys.jwks().keys;
        expect(jwk).to.deep.equal({ ...publicJwk, kid: 'k1', alg, use: 'sig' });
        for (const member of PRIVATE_MEMBERS) expect(jwk).not.to.have.property(member);
        expect(JSON.stringify(keys.jwks())).not.to.include(String(privateJwk.d));
      });
    }

    for (const alg of HMAC_ALGORITHMS) {
      it(`never publishes a shared secret [${alg}]`, async () => {
        const es = await keyPair('ES256');
        const keys = await loadKeys(
          [{ secret: secretFor(alg) }, { publicKeyPem: es.publicPem, alg: 'ES256' }],
          { defaultAlgorithm: alg },
        );
        expect(keys.jwks().keys.map((k) => k.alg)).to.deep.equal(['ES256']);
      });
    }

    it('is built once and frozen', async () => {
      const keys = await loadKeys(
        { privateKeyPem: (await keyPair('ES256')).privatePem },
        { defaultAlgorithm: 'ES256' },
      );
      expect(keys.jwks()).to.equal(keys.jwks());
      expect(Object.isFrozen(keys.jwks())).to.equal(true);
      expect(Object.isFrozen(keys.jwks().keys)).to.equal(true);
      expect(Object.isFrozen(keys.jwks().keys[0])).to.equal(true);
    });
  });

  describe('refusing keys', () => {
    const refused = (
      sources: KeySource | KeySource[],
      defaultAlgorithm: SigningAlgorithm = 'RS256',
    ) => expect(loadKeys(sources, { defaultAlgorithm })).to.be.rejectedWith(KeyError);

    it('refuses a key of the wrong type for its algorithm', async () => {
      const rsa = await keyPair('RS256');
      const p256 = await keyPair('ES256');
      const p384 = await keyPair('ES384');
      const ed = await keyPair('EdDSA');
      await refused({ privateKeyPem: p256.privatePem }).and.eventually.have.property(
        'message',
        'keys: RS256 needs an RSA key, got an EC P-256 key',
      );
      await refused({ privateKeyPem: rsa.privatePem, alg: 'ES256' });
      await refused({ privateKeyPem: p384.privatePem, alg: 'ES256' });
      await refused({ privateKeyPem: p256.privatePem, alg: 'ES384' });
      await refused({ privateKeyPem: ed.privatePem, alg: 'ES256' });
      await refused({ privateKeyPem: p256.privatePem, alg: 'EdDSA' });
      await refused({ privateKeyPem: rsa.privatePem, alg: 'HS256' });
      await refused({ secret: secretFor('HS256'), alg: 'RS256' });
      await refused({ jwk: p256.privateJwk, alg: 'PS256' });
    });

    it('refuses an RSA key shorter than 2048 bits', async () => {
      await refused({ privateKeyPem: shortRsaPem() }).and.eventually.have.property(
        'message',
        'keys: RS256 needs an RSA key of at least 2048 bits, got a 1024-bit RSA key',
      );
    });

    for (const [alg, min] of [
      ['HS256', 32],
      ['HS384', 48],
      ['HS512', 64],
    ] as const) {
      it(`refuses a secret shorter than the hash output [${alg}, ${min} bytes]`, async () => {
        const secret = 'x'.repeat(min - 1);
        const err = await expect(
          loadKeys([{ secret }], { defaultAlgorithm: alg }),
        ).to.be.rejectedWith(KeyError, `keys[0]: ${alg} needs a secret of at least ${min} bytes`);
        expect(err.message).not.to.include(secret);
        await loadKeys({ secret: 'x'.repeat(min) }, { defaultAlgorithm: alg });
      });
    }

    it('refuses a certificate that does not match the private key, naming the file', async () => {
      const { certFile } = await opensslKeyAndCertificate(dir, 'other');
      const rsa = await keyPair('RS256');
      await refused({
        privateKeyPem: rsa.privatePem,
        certificateFile: certFile,
      }).and.eventually.have.property(
        'message',
        `keys.certificateFile "${certFile}": the certificate's public key does not match the private key`,
      );
    });

    it('refuses a missing or unreadable file, naming it', async () => {
      const file = `${dir.path}/does-not-exist.key`;
      await refused([{ privateKeyFile: file }]).and.eventually.have.property(
        'message',
        `keys[0].privateKeyFile "${file}": cannot read the file (ENOENT)`,
      );
      await refused({ publicKeyFile: dir.path })
        .and.eventually.have.property('message')
        .that.include(dir.path);
    });

    it('refuses text that is not a PEM key or certificate', async () => {
      const file = await dir.write('garbage.key', 'not a key');
      const rsa = await keyPair('RS256');
      const certFile = await selfSignedCertificate(await dir.write('rsa.key', rsa.privatePem));
      await refused({ privateKeyFile: file })
        .and.eventually.have.property('message')
        .that.include(file);
      await refused({ privateKeyFile: certFile });
      await refused({ privateKeyPem: rsa.privatePem, certificatePem: rsa.publicPem });
      await refused({ publicKeyPem: 'nope' });
      await refused({ jwk: { kty: 'RSA', n: 'AQAB' } });
      await refused({ jwk: { kty: 'oct' } }, 'RS256');
    });

    it('refuses a private key configured as a public key', async () => {
      const rsa = await keyPair('RS256');
      const err = await refused([
        { privateKeyPem: rsa.privatePem },
        { publicKeyPem: rsa.privatePem, kid: 'x' },
      ]);
      expect(err.message).to.equal(
        'keys[1].publicKeyPem: holds a private key; use privateKeyFile or privateKeyPem for it',
      );
    });

    it('refuses a duplicate kid', async () => {
      const a = await keyPair('ES256');
      const b = await newKeyPair('ES256');
      await refused(
        [
          { privateKeyPem: a.privatePem, kid: 'same' },
          { privateKeyPem: b.privatePem, kid: 'same' },
        ],
        'ES256',
      ).and.eventually.have.property('message', 'keys[1]: duplicate "kid" "same" (also keys[0])');
      // Thumbprint kids collide too when the same key is configured twice.
      await refused([{ privateKeyPem: a.privatePem }, { publicKeyPem: a.publicPem }], 'ES256');
    });

    it('refuses a key set that cannot sign', async () => {
      const es = await keyPair('ES256');
      await refused({ publicKeyPem: es.publicPem, alg: 'ES256' }).and.eventually.have.property(
        'message',
        'keys: no key can sign; configure a private key or a secret',
      );
      await refused([{ publicKeyPem: es.publicPem, alg: 'ES256', active: true }]);
      await refused([]);
    });

    it('refuses two active keys, and sources with none or several kinds of key', async () => {
      const a = await keyPair('ES256');
      const b = await newKeyPair('ES256');
      await refused(
        [
          { privateKeyPem: a.privatePem, active: true },
          { privateKeyPem: b.privatePem, active: true },
        ],
        'ES256',
      );
      await refused({ kid: 'x' } as never);
      await refused({ privateKeyPem: a.privatePem, secret: 'x'.repeat(32) } as never);
      await refused({ publicKeyPem: a.publicPem, certificatePem: a.publicPem } as never);
    });

    it('refuses an unknown algorithm and an empty kid', async () => {
      const es = await keyPair('ES256');
      await refused({ privateKeyPem: es.privatePem, alg: 'none' as never });
      await refused({ privateKeyPem: es.privatePem, alg: 'ES256', kid: '' });
      await expect(
        loadKeys({ privateKeyPem: es.privatePem }, { defaultAlgorithm: 'HS1' as never }),
      ).to.be.rejectedWith(ConfigError, 'algorithm');
    });

    it('never puts key material in its messages', async () => {
      const rsa = await keyPair('RS256');
      const secret = 'short-secret-that-must-not-leak';
      const messages: string[] = [];
      for (const source of [
        { privateKeyPem: rsa.privatePem, alg: 'ES256' },
        { privateKeyPem: rsa.privatePem.slice(0, 200) },
        { publicKeyPem: rsa.privatePem },
        { privateKeyPem: rsa.privatePem, certificatePem: rsa.privatePem },
        { secret, alg: 'HS256' },
        { jwk: { ...rsa.privateJwk, n: 'AAAA' } },
      ] as KeySource[]) {
        const err = await refused(source);
        messages.push(err.message, String(err.stack));
      }
      for (const message of messages) {
        expect(message).not.to.include('-----BEGIN');
        expect(message).not.to.include(secret);
        expect(message).not.to.include(String(rsa.privateJwk.d).slice(0, 16));
        expect(message).not.to.include(rsa.privatePem.split('\n')[1]);
      }
    });
  });
});
