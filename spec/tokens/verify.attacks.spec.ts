/**
 * Forged and malformed tokens (RFC 8725 sections 2 and 3): every one must be refused with an
 * InvalidTokenError, before or by the signature check, and nothing may be fetched.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { createHmac, createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { base64url, calculateJwkThumbprint } from 'jose';
import { InvalidTokenError, type InvalidTokenReason } from '../../lib/errors.js';
import { ACCESS_TOKEN_TYP } from '../../lib/tokens/claims.js';
import { loadKeys, type KeySet } from '../../lib/tokens/keys.js';
import { signToken } from '../../lib/tokens/sign.js';
import { verifyToken } from '../../lib/tokens/verify.js';
import { fakeClock } from '../support/clock.js';
import {
  keyPair,
  newKeyPair,
  opensslKeyAndCertificate,
  secretFor,
  tempDir,
  type TestKeyPair,
} from '../support/keys.js';
import { accessClaims, signRaw, unsignedToken, verifyOptions } from '../support/tokens.js';

use(chaiAsPromised);

/** HS256 computed by hand, for secrets jose refuses to sign with (an empty one, as /dev/null). */
function hmacToken(header: object, payload: object, secret: string | Uint8Array): string {
  const input = unsignedToken(header, payload).slice(0, -1);
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('tokens/verify refuses attacks', () => {
  const clock = fakeClock();
  let server: TestKeyPair;
  let attacker: TestKeyPair;
  /** RS256 only. */
  let rsKeys: KeySet;
  /** RS256 (active, kid rs1) and HS256 (kid hs1). */
  let mixedKeys: KeySet;
  /** HS256 only. */
  let hsKeys: KeySet;
  let valid: string;

  before(async () => {
    server = await keyPair('RS256');
    attacker = await newKeyPair('RS256');
    rsKeys = await loadKeys(
      { privateKeyPem: server.privatePem, kid: 'rs1' },
      { defaultAlgorithm: 'RS256' },
    );
    mixedKeys = await loadKeys(
      [
        { privateKeyPem: server.privatePem, kid: 'rs1' },
        { secret: secretFor('HS256'), kid: 'hs1', alg: 'HS256' },
      ],
      { defaultAlgorithm: 'RS256' },
    );
    hsKeys = await loadKeys({ secret: secretFor('HS256') }, { defaultAlgorithm: 'HS256' });
    valid = await signToken(rsKeys, ACCESS_TOKEN_TYP, accessClaims(clock));
  });

  const refused = (keys: KeySet, jwt: unknown, reason?: InvalidTokenReason) => {
    const assertion = expect(
      verifyToken(keys, jwt as string, verifyOptions(clock)),
    ).to.be.rejectedWith(InvalidTokenError);
    return reason === undefined ? assertion : assertion.and.eventually.include({ reason });
  };
  const claims = () => accessClaims(clock);

  it('accepts the untampered token these attacks start from', async () => {
    await verifyToken(rsKeys, valid, verifyOptions(clock));
  });

  describe('alg none', () => {
    for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
      it(`refuses alg ${alg} with an empty and a non-empty signature`, async () => {
        for (const kid of [undefined, 'rs1']) {
          const header = { alg, kid, typ: 'at+jwt' };
          await refused(rsKeys, unsignedToken(header, claims()), 'malformed');
          await refused(rsKeys, unsignedToken(header, claims(), 'c2lnbmF0dXJl'), 'algorithm');
          await refused(hsKeys, unsignedToken(header, claims(), 'c2lnbmF0dXJl'), 'algorithm');
        }
      });
    }
  });

  describe('algorithm confusion', () => {
    const publicKeyTexts = (): [string, string][] => [
      ['SPKI PEM', server.publicPem],
      ['PKCS#1 public PEM', server.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string],
      ['JWK JSON', JSON.stringify(server.publicJwk)],
    ];

    it('refuses HS256 signed with the RSA public key as the secret [SPKI, PKCS#1, JWK text]', async () => {
      for (const [, text] of publicKeyTexts()) {
        const secret = new TextEncoder().encode(text);
        const withKid = await signRaw(
          secret,
          { alg: 'HS256', kid: 'rs1', typ: 'at+jwt' },
          claims(),
        );
        const withoutKid = await signRaw(secret, { alg: 'HS256', typ: 'at+jwt' }, claims());
        await refused(rsKeys, withKid, 'algorithm');
        await refused(rsKeys, withoutKid, 'algorithm');
        // With an HS key configured too, the RSA key's kid still binds RS256 only.
        await refused(mixedKeys, withKid, 'algorithm');
        await refused(mixedKeys, withoutKid, 'signature');
      }
    });

    it('refuses an asymmetric algorithm when only a shared secret is configured', async () => {
      await refused(hsKeys, valid, 'algorithm');
    });

    it('refuses an algorithm that differs from the selected key [RS256 key, PS256 token]', async () => {
      const ps = await keyPair('PS256');
      const jwt = await signRaw(
        ps.privateKey,
        { alg: 'PS256', kid: 'rs1', typ: 'at+jwt' },
        claims(),
      );
      await refused(rsKeys, jwt, 'algorithm');
    });

    for (const alg of [['RS256'], 'rs256', 'RS256 ', 42, null]) {
      it(`refuses an alg that is not exactly a configured one [${JSON.stringify(alg)}]`, async () => {
        await refused(
          rsKeys,
          unsignedToken({ alg, kid: 'rs1', typ: 'at+jwt' }, claims(), 'c2ln'),
          'algorithm',
        );
      });
    }
  });

  describe('tampering', () => {
    it('refuses a tampered payload', async () => {
      const [h, , s] = valid.split('.');
      const forged = base64url.encode(JSON.stringify({ ...claims(), sub: 'admin' }));
      await refused(rsKeys, `${h}.${forged}.${s}`, 'signature');
    });

    it('refuses a stripped signature', async () => {
      const [h, p] = valid.split('.');
      await refused(rsKeys, `${h}.${p}.`, 'malformed');
      await refused(rsKeys, `${h}.${p}`, 'malformed');
    });

    it('refuses a truncated signature', async () => {
      // Three bytes fewer, spelled canonically: refused by the signature check itself.
      const [h, p, s] = valid.split('.') as [string, string, string];
      const shorter = Buffer.from(s, 'base64url').subarray(0, -3).toString('base64url');
      await refused(rsKeys, `${h}.${p}.${shorter}`, 'signature');
      await refused(rsKeys, valid.slice(0, -4));
      await refused(rsKeys, valid.slice(0, -1));
      await refused(rsKeys, valid.slice(0, -300));
    });

    it('refuses a token signed by another key under the configured kid', async () => {
      const jwt = await signRaw(
        attacker.privateKey,
        { alg: 'RS256', kid: 'rs1', typ: 'at+jwt' },
        claims(),
      );
      await refused(rsKeys, jwt, 'signature');
    });
  });

  describe('kid', () => {
    const hostile = [
      '../../dev/null',
      "' OR 1=1 --",
      '',
      '/etc/passwd',
      'http://127.0.0.1/k',
      '__proto__',
      'constructor',
    ];
    for (const kid of hostile) {
      it(`only selects among configured keys [kid ${JSON.stringify(kid)}]`, async () => {
        const rs = await signRaw(
          attacker.privateKey,
          { alg: 'RS256', kid, typ: 'at+jwt' },
          claims(),
        );
        await refused(rsKeys, rs, 'header');
        await refused(mixedKeys, rs, 'header');
        // The HS shape: a secret read from /dev/null would be empty.
        for (const secret of ['', '\n']) {
          const hs = hmacToken({ alg: 'HS256', kid, typ: 'at+jwt' }, claims(), secret);
          await refused(mixedKeys, hs, 'header');
          await refused(rsKeys, hs, 'algorithm');
        }
      });
    }

    for (const kid of [1, null, ['rs1'], { kid: 'rs1' }]) {
      it(`refuses a kid that is not a string [${JSON.stringify(kid)}]`, async () => {
        const jwt = await signRaw(
          server.privateKey,
          { alg: 'RS256', kid, typ: 'at+jwt' } as never,
          claims(),
        );
        await refused(rsKeys, jwt, 'header');
      });
    }

    it('refuses a token without kid when several keys share its algorithm', async () => {
      const other = await newKeyPair('RS256');
      const two = await loadKeys(
        [
          { privateKeyPem: server.privatePem, kid: 'a' },
          { publicKeyPem: other.publicPem, kid: 'b' },
        ],
        { defaultAlgorithm: 'RS256' },
      );
      const jwt = await signRaw(server.privateKey, { alg: 'RS256', typ: 'at+jwt' }, claims());
      await refused(two, jwt, 'header');
      await verifyToken(rsKeys, jwt, verifyOptions(clock));
    });
  });

  describe('keys and URLs in the header', () => {
    let http: Server;
    let requests = 0;
    let origin: string;

    before(async () => {
      http = createServer((_req, res) => {
        requests += 1;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [{ ...attacker.publicJwk, kid: 'evil', alg: 'RS256' }] }));
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      origin = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => http.close(() => resolve())));

    it('refuses an embedded jwk header (the attacker signs with their own key)', async () => {
      const thumbprint = await calculateJwkThumbprint(attacker.publicJwk);
      for (const kid of ['rs1', thumbprint, undefined]) {
        const header = { alg: 'RS256', kid, typ: 'at+jwt', jwk: attacker.publicJwk };
        await refused(rsKeys, await signRaw(attacker.privateKey, header, claims()), 'header');
      }
      // ...even when it embeds the server's own public key and is validly signed.
      const genuine = { alg: 'RS256', kid: 'rs1', typ: 'at+jwt', jwk: server.publicJwk };
      await refused(rsKeys, await signRaw(server.privateKey, genuine, claims()), 'header');
    });

    it('refuses jku and x5u headers without fetching them', async () => {
      for (const name of ['jku', 'x5u']) {
        for (const kid of ['evil', 'rs1']) {
          const header = { alg: 'RS256', kid, typ: 'at+jwt', [name]: `${origin}/jwks.json` };
          await refused(rsKeys, await signRaw(attacker.privateKey, header, claims()), 'header');
        }
        // ...even on a token the server itself signed.
        const genuine = { alg: 'RS256', kid: 'rs1', typ: 'at+jwt', [name]: `${origin}/jwks.json` };
        await refused(rsKeys, await signRaw(server.privateKey, genuine, claims()), 'header');
      }
      expect(requests).to.equal(0);
    });

    it('refuses an x5c header', async () => {
      const dir = await tempDir();
      try {
        const { keyFile, certFile } = await opensslKeyAndCertificate(dir, 'attacker');
        const der = new X509Certificate(await readFile(certFile)).raw.toString('base64');
        const header = { alg: 'RS256', typ: 'at+jwt', x5c: [der] };
        const key = createPrivateKey(await readFile(keyFile));
        await refused(rsKeys, await signRaw(key, header, claims()), 'header');
        // ...even validly signed by the server with its own certificate chain.
        const genuine = { alg: 'RS256', kid: 'rs1', typ: 'at+jwt', x5c: [der] };
        await refused(rsKeys, await signRaw(server.privateKey, genuine, claims()), 'header');
      } finally {
        await dir.dispose();
      }
    });
  });

  it('refuses any crit header, even one jose understands [foo, b64]', async () => {
    const foo = { alg: 'RS256', kid: 'rs1', typ: 'at+jwt', crit: ['foo'], foo: 1 };
    await refused(
      rsKeys,
      await signRaw(server.privateKey, foo, claims(), { crit: { foo: true } }),
      'header',
    );
    const b64 = { alg: 'RS256', kid: 'rs1', typ: 'at+jwt', crit: ['b64'], b64: true };
    await refused(rsKeys, await signRaw(server.privateKey, b64, claims()), 'header');
  });

  describe('malformed input', () => {
    it('refuses tokens without exactly three parts [2, 4 and 5 parts]', async () => {
      const [h, p, s] = valid.split('.');
      for (const jwt of [
        `${h}.${p}`,
        `${valid}.${s}`,
        `${h}.${h}.${p}.${s}.${s}`,
        h,
        '',
        '..',
        '...',
      ]) {
        await refused(rsKeys, jwt, 'malformed');
      }
    });

    it('refuses characters outside base64url', async () => {
      const [h, p, s] = valid.split('.');
      for (const jwt of [
        `${h}.${p}.${s}=`,
        `${h}=.${p}.${s}`,
        ` ${valid}`,
        `${valid}\n`,
        `${h}.${p}+.${s}`,
        `${h}.${p}/.${s}`,
        `${h}.${p}.${s}é`,
      ]) {
        await refused(rsKeys, jwt, 'malformed');
      }
    });

    it('refuses a header that is not a JSON object', async () => {
      const [, p, s] = valid.split('.');
      for (const text of ['not json', '[]', '"x"', '123', 'null']) {
        await refused(rsKeys, `${base64url.encode(text)}.${p}.${s}`, 'malformed');
      }
    });

    it('refuses a validly signed payload that is not a JSON object [[], "x", 123, null, text]', async () => {
      const header = { alg: 'RS256', kid: 'rs1', typ: 'at+jwt' };
      for (const payload of ['[]', '"x"', '123', 'null', 'true', 'not json', '{"sub":']) {
        await refused(rsKeys, await signRaw(server.privateKey, header, payload), 'malformed');
      }
    });

    it('refuses a 20 kB token before decoding it', async () => {
      const big = await signToken(rsKeys, ACCESS_TOKEN_TYP, {
        ...claims(),
        pad: 'x'.repeat(20_000),
      });
      expect(big.length).to.be.greaterThan(20_000);
      await refused(rsKeys, big, 'malformed');
    });

    it('refuses input that is not a string', async () => {
      for (const input of [
        undefined,
        null,
        42,
        {},
        [valid],
        Buffer.from(valid),
        new TextEncoder().encode(valid),
      ]) {
        await refused(rsKeys, input, 'malformed');
      }
    });
  });
});
