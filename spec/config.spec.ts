/**
 * Options are checked once, at start-up: a wrong option throws one `ConfigError` naming its full
 * path, defaults are filled in (django-jwtconnect-auth's lifetimes), and a bad key file is named
 * without its key material. No database is needed: nothing here reaches a store.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { resolveConfig, type JwtConnectOptions } from '../lib/config.js';
import { ConfigError, KeyError } from '../lib/errors.js';
import { jwtconnect } from '../lib/jwtconnect.js';
import { DEFAULT_CLAIMS_MAP } from '../lib/tokens/claims.js';
import { systemClock } from '../lib/clock.js';
import {
  keyPair,
  newKeyPair,
  opensslKeyAndCertificate,
  shortRsaPem,
  tempDir,
  type TempDir,
} from './support/keys.js';
import { quietLogger } from './support/plugin.js';

use(chaiAsPromised);

const SECRET = randomBytes(32).toString('base64url');

function options(overrides: Record<string, unknown> = {}): JwtConnectOptions {
  return {
    issuer: 'https://auth.example.org',
    keys: { secret: randomBytes(32), alg: 'HS256' },
    subjectSecret: SECRET,
    store: { memory: true },
    logger: quietLogger,
    ...overrides,
  } as JwtConnectOptions;
}

function without(name: keyof JwtConnectOptions): JwtConnectOptions {
  const all = Object.entries(options()).filter(([key]) => key !== name);
  return Object.fromEntries(all) as unknown as JwtConnectOptions;
}

/** Asserts one ConfigError, on one line, naming `path`. */
function refused(given: unknown, path: RegExp): ConfigError {
  let thrown: unknown;
  try {
    resolveConfig(given as JwtConnectOptions);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'nothing was thrown').to.be.instanceOf(ConfigError);
  const error = thrown as ConfigError;
  expect(error.code).to.equal('ERR_CONFIG');
  expect(error.message).to.match(path);
  expect(error.message).to.not.include('\n');
  return error;
}

describe('config', () => {
  describe('refuses a wrong option with one ConfigError naming it', () => {
    const cases: [string, () => unknown, RegExp][] = [
      ['options that are not an object', () => null, /^options must be an object/],
      ['a missing issuer', () => without('issuer'), /^options\.issuer is required/],
      ['an empty issuer', () => options({ issuer: '' }), /^options\.issuer /],
      ['missing keys', () => without('keys'), /^options\.keys is required/],
      ['an empty list of keys', () => options({ keys: [] }), /^options\.keys /],
      ['a missing store', () => without('store'), /^options\.store is required/],
      [
        'an unknown option',
        () => options({ issuerUrl: 'x' }),
        /^options\.issuerUrl is not an option/,
      ],
      [
        'an unknown nested option',
        () => options({ revocation: { maxStaleness: 5 } }),
        /^options\.revocation\.maxStaleness is not an option/,
      ],
      [
        'a missing subjectSecret',
        () => without('subjectSecret'),
        /^options\.subjectSecret is required/,
      ],
      [
        'a short subjectSecret',
        () => options({ subjectSecret: 'x'.repeat(31) }),
        /^options\.subjectSecret /,
      ],
      [
        'a bad algorithm [none]',
        () => options({ algorithm: 'none' }),
        /^options\.algorithm must be one of RS256/,
      ],
      [
        'a bad algorithm [rs256]',
        () => options({ algorithm: 'rs256' }),
        /^options\.algorithm must be one of/,
      ],
      [
        'a bad algorithm [HS1]',
        () => options({ algorithm: 'HS1' }),
        /^options\.algorithm must be one of/,
      ],
      ['an accessTokenTtl of 0', () => options({ accessTokenTtl: 0 }), /^options\.accessTokenTtl /],
      [
        'a non-integer accessTokenTtl',
        () => options({ accessTokenTtl: 1.5 }),
        /^options\.accessTokenTtl /,
      ],
      [
        'a refreshTokenTtl of 0',
        () => options({ refreshTokenTtl: 0 }),
        /^options\.refreshTokenTtl /,
      ],
      [
        'a string refreshTokenTtl',
        () => options({ refreshTokenTtl: '3600' }),
        /^options\.refreshTokenTtl /,
      ],
      [
        'a refreshTokenTtl shorter than the accessTokenTtl',
        () => options({ accessTokenTtl: 600, refreshTokenTtl: 300 }),
        /^options\.refreshTokenTtl must not be shorter than options\.accessTokenTtl/,
      ],
      [
        'a negative clockTolerance',
        () => options({ clockTolerance: -1 }),
        /^options\.clockTolerance /,
      ],
      [
        'a claimsMap mapping to a registered claim [sub]',
        () => options({ claimsMap: { username: 'sub' } }),
        /^options\.claimsMap\.username: "sub"/,
      ],
      [
        'a claimsMap mapping to a registered claim [exp]',
        () => options({ claimsMap: { expires: 'exp' } }),
        /^options\.claimsMap\.expires: "exp"/,
      ],
      [
        'a claimsMap to an empty claim',
        () => options({ claimsMap: { a: '' } }),
        /^options\.claimsMap\.a /,
      ],
      [
        'a non-function clock',
        () => options({ clock: 1_768_478_400_000 }),
        /^options\.clock must be a function/,
      ],
      [
        'a non-function extraClaims',
        () => options({ extraClaims: {} }),
        /^options\.extraClaims must be a function/,
      ],
      [
        'a non-function userId',
        () => options({ userId: 'id' }),
        /^options\.userId must be a function/,
      ],
      [
        'a non-boolean multipleTokens',
        () => options({ multipleTokens: 'false' }),
        /^options\.multipleTokens /,
      ],
      [
        'two store kinds',
        () => options({ store: { memory: true, mongo: { uri: 'mongodb://127.0.0.1' } } }),
        /^options\.store /,
      ],
      ['no store kind', () => options({ store: {} }), /^options\.store /],
      [
        'an unknown store kind',
        () => options({ store: { redis: {} } }),
        /^options\.store\.redis is not an option/,
      ],
      [
        'a mongo store with neither uri nor db',
        () => options({ store: { mongo: { dbName: 'x' } } }),
        /^options\.store\.mongo /,
      ],
      [
        'a mongo uri that is not a string',
        () => options({ store: { mongo: { uri: 27017 } } }),
        /^options\.store\.mongo\.uri /,
      ],
      [
        'a misspelt mongo option [dbname for dbName]',
        () => options({ store: { mongo: { uri: 'mongodb://127.0.0.1', dbname: 'auth' } } }),
        /^options\.store\.mongo\.dbname is not an option$/,
      ],
      [
        'a mongo write concern that is not a number or "majority"',
        () =>
          options({
            store: { mongo: { uri: 'mongodb://127.0.0.1', writeConcern: { w: 'bogus' } } },
          }),
        /^options\.store\.mongo\.writeConcern\.w must be a number of servers/,
      ],
      [
        'an unknown mongo write concern member',
        () => options({ store: { mongo: { uri: 'mongodb://127.0.0.1', writeConcern: { x: 1 } } } }),
        /^options\.store\.mongo\.writeConcern\.x is not an option$/,
      ],
      [
        'mongo collections that are not an object',
        () => options({ store: { mongo: { uri: 'mongodb://127.0.0.1', collections: 42 } } }),
        /^options\.store\.mongo\.collections must be object$/,
      ],
      [
        'an unknown mongo collection',
        () =>
          options({
            store: { mongo: { uri: 'mongodb://127.0.0.1', collections: { pending: 'x' } } },
          }),
        /^options\.store\.mongo\.collections\.pending is not an option$/,
      ],
      [
        'an empty mongo collection name',
        () =>
          options({
            store: { mongo: { uri: 'mongodb://127.0.0.1', collections: { events: '' } } },
          }),
        /^options\.store\.mongo\.collections\.events /,
      ],
      ['an empty scope name', () => options({ scopes: { audit: '' } }), /^options\.scopes\.audit /],
      [
        'a negative maxStalenessMs',
        () => options({ revocation: { maxStalenessMs: -1 } }),
        /^options\.revocation\.maxStalenessMs /,
      ],
      [
        'a logger without warn and error',
        () => options({ logger: {} }),
        /^options\.logger\.(warn|error) /,
      ],
      [
        'a logger whose error is not a function',
        () => options({ logger: { warn: () => {}, error: 1 } }),
        /^options\.logger\.error /,
      ],
    ];
    for (const [title, given, path] of cases) {
      it(`refuses ${title}`, () => {
        refused(given(), path);
      });
    }

    it('refuses a wrong option at jwtconnect() too, before opening anything', async () => {
      await expect(jwtconnect(options({ accessTokenTtl: 0 })))
        .to.be.rejectedWith(ConfigError, /options\.accessTokenTtl/)
        .and.eventually.include({ code: 'ERR_CONFIG' });
      await expect(jwtconnect(options({ store: { mongo: {} } }))).to.be.rejectedWith(
        ConfigError,
        /options\.store\.mongo/,
      );
    });
  });

  describe('defaults', () => {
    it("fills in django-jwtconnect-auth's lifetimes, RS256, multiple tokens and the rest", () => {
      const config = resolveConfig(options());
      expect(config).to.include({
        accessTokenTtl: 1800,
        refreshTokenTtl: 3600,
        algorithm: 'RS256',
        multipleTokens: true,
        clockTolerance: 5,
        refreshReuseGrace: 2,
        clock: systemClock,
      });
      expect(config.audience).to.equal(undefined);
      expect(config.claimsMap).to.deep.equal(DEFAULT_CLAIMS_MAP);
      expect(config.revocation).to.deep.equal({ maxStalenessMs: 0 });
      expect(config.scopes).to.deep.equal({
        introspection: 'introspection',
        audit: 'audit',
        admin: 'admin',
      });
      expect(config.keys).to.have.length(1);
    });

    it('keeps values that are falsy but set [0, false]', () => {
      const config = resolveConfig(
        options({
          clockTolerance: 0,
          refreshReuseGrace: 0,
          multipleTokens: false,
          revocation: { maxStalenessMs: 0 },
        }),
      );
      expect(config).to.include({ clockTolerance: 0, refreshReuseGrace: 0, multipleTokens: false });
    });

    it('freezes the resolved config', () => {
      const config = resolveConfig(options());
      expect(Object.isFrozen(config)).to.equal(true);
      expect(Object.isFrozen(config.claimsMap)).to.equal(true);
      expect(Object.isFrozen(config.keys)).to.equal(true);
    });

    it('uses RS256 for a key that names no algorithm', async () => {
      const rsa = await keyPair('RS256');
      const auth = await jwtconnect(options({ keys: { privateKeyPem: rsa.privatePem } }));
      try {
        expect(auth.config.algorithm).to.equal('RS256');
        expect(auth.tokens.jwks().keys.map((key) => key.alg)).to.deep.equal(['RS256']);
      } finally {
        await auth.close();
      }
    });
  });

  describe('key files', () => {
    let dir: TempDir;

    before(async () => {
      dir = await tempDir();
    });
    after(async () => {
      await dir.dispose();
    });

    /** The base64 lines of a PEM: none of them may appear in an error. */
    function material(pem: string): string[] {
      return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
    }

    async function refusedFile(keys: unknown, file: string, pems: string[]): Promise<void> {
      const error = (await expect(
        jwtconnect(options({ keys, algorithm: 'RS256' })),
      ).to.be.rejectedWith(KeyError)) as unknown as KeyError;
      expect(error.code).to.equal('ERR_KEY');
      expect(error.message).to.include(file);
      for (const line of pems.flatMap(material)) expect(error.message).to.not.include(line);
      expect(JSON.stringify(error)).to.not.include(material(pems[0]!)[0]!);
    }

    it('names a missing key file', async () => {
      const file = join(dir.path, 'missing.key');
      const error = (await expect(
        jwtconnect(options({ keys: { privateKeyFile: file } })),
      ).to.be.rejectedWith(KeyError)) as unknown as KeyError;
      expect(error.message).to.include(file).and.to.include('ENOENT');
    });

    it('names a key file that holds no private key, without its contents [public key, garbage]', async () => {
      const rsa = await keyPair('RS256');
      const publicFile = await dir.write('public-as-private.key', rsa.publicPem);
      await refusedFile({ privateKeyFile: publicFile }, publicFile, [rsa.publicPem]);
      const garbage = `-----BEGIN PRIVATE KEY-----\n${randomBytes(64).toString('base64')}\n-----END PRIVATE KEY-----\n`;
      const garbageFile = await dir.write('garbage.key', garbage);
      await refusedFile({ privateKeyFile: garbageFile }, garbageFile, [garbage]);
    });

    it('names a public key file that holds a private key, without its contents', async () => {
      const rsa = await keyPair('RS256');
      const file = await dir.write('private-as-public.pem', rsa.privatePem);
      await refusedFile(
        [{ privateKeyPem: rsa.privatePem, kid: 'a' }, { publicKeyFile: file }],
        file,
        [rsa.privatePem],
      );
    });

    it('names a certificate file that does not match the private key', async () => {
      const { certFile } = await opensslKeyAndCertificate(dir);
      const other = await newKeyPair('RS256');
      const otherFile = await dir.write('other.key', other.privatePem);
      await refusedFile({ privateKeyFile: otherFile, certificateFile: certFile }, certFile, [
        other.privatePem,
      ]);
    });

    it('names a key file whose key does not fit the algorithm [EC key for RS256, 1024-bit RSA]', async () => {
      const ec = await keyPair('ES256');
      const ecFile = await dir.write('ec.key', ec.privatePem);
      await refusedFile({ privateKeyFile: ecFile }, ecFile, [ec.privatePem]);
      const short = shortRsaPem();
      const shortFile = await dir.write('short.key', short);
      await refusedFile({ privateKeyFile: shortFile }, shortFile, [short]);
    });
  });
});
