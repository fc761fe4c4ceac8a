/**
 * No option that carries a key, a secret or a connection string ever reaches an error message, a
 * stack, a `cause` or a log line: not when it is wrong, and not when key material is passed where a
 * file name was expected (a key from an environment variable is the common case).
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { Console } from 'node:console';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { resolveConfig, type JwtConnectOptions } from '../lib/config.js';
import { ConfigError, KeyError, StoreUnavailableError } from '../lib/errors.js';
import { jwtconnect } from '../lib/jwtconnect.js';
import { keyPair, tempDir, type TempDir } from './support/keys.js';

use(chaiAsPromised);

const SUBJECT_SECRET = randomBytes(32).toString('base64url');
/** A symmetric JWK's secret member, passed as JSON text where a file name goes. */
const SECRET_K = randomBytes(32).toString('base64url');

interface Attempt {
  error: Error;
  /** Everything a host could print: message, stack, causes, own members, and every log line. */
  text: string;
}

async function attempt(overrides: Record<string, unknown>): Promise<Attempt> {
  const logged: string[] = [];
  const record = (message: string, detail?: unknown) => {
    logged.push(message, inspect(detail, { depth: Infinity }));
  };
  const options = {
    issuer: 'https://auth.example.org',
    keys: { secret: randomBytes(32), alg: 'HS256' },
    subjectSecret: SUBJECT_SECRET,
    store: { memory: true },
    logger: { warn: record, error: record },
    ...overrides,
  } as JwtConnectOptions;
  const error = (await expect(jwtconnect(options)).to.be.rejected) as Error;
  const text = [
    error.message,
    String(error.stack),
    inspect(error, { depth: Infinity, showHidden: true }),
    JSON.stringify(error),
    ...logged,
  ].join('\n');
  return { error, text };
}

/** The secret part of a value: a PEM's base64 body, else the whole string. */
function material(secret: string): string {
  return secret.includes('-----BEGIN')
    ? secret
        .split(/\n|\\n/)
        .filter((line) => !line.startsWith('-----'))
        .join('')
    : secret;
}

/** No run of 12 characters of the secret appears anywhere in `text`. */
function expectNoFragment(text: string, secret: string): void {
  const body = material(secret);
  const width = Math.min(12, body.length);
  for (let i = 0; i + width <= body.length; i++) {
    const fragment = body.slice(i, i + width);
    expect(text.includes(fragment), `fragment "${fragment}" of the secret was echoed`).to.equal(
      false,
    );
  }
}

describe('options that carry secrets are never echoed', () => {
  let dir: TempDir;
  let privatePem: string;
  before(async () => {
    dir = await tempDir();
    privatePem = (await keyPair('ES256')).privatePem;
  });
  after(async () => {
    await dir.dispose();
  });

  describe('key material where a file name was expected', () => {
    const cases: [string, (pem: string) => Record<string, unknown>, RegExp][] = [
      [
        'keys.privateKeyFile',
        (pem) => ({ keys: { privateKeyFile: pem, alg: 'ES256' } }),
        /^keys(\[0\])?\.privateKeyFile: looks like PEM key material, not a file name: pass the text as privateKeyPem$/,
      ],
      [
        'keys.privateKeyFile [escaped newlines, as in a .env file]',
        (pem) => ({ keys: { privateKeyFile: pem.replace(/\n/g, '\\n'), alg: 'ES256' } }),
        /^keys(\[0\])?\.privateKeyFile: looks like PEM key material/,
      ],
      [
        'keys[1].publicKeyFile',
        (pem) => ({
          keys: [{ secret: randomBytes(32), alg: 'HS256' }, { publicKeyFile: pem }],
        }),
        /^keys\[1\]\.publicKeyFile: looks like PEM key material, .* as publicKeyPem$/,
      ],
      [
        'keys.certificateFile',
        (pem) => ({ keys: { privateKeyPem: pem, certificateFile: pem, alg: 'ES256' } }),
        /^keys(\[0\])?\.certificateFile: looks like PEM key material, .* as certificatePem$/,
      ],
      [
        'refreshKeys.privateKeyFile',
        (pem) => ({ refreshKeys: { privateKeyFile: pem, alg: 'ES256' } }),
        /^refreshKeys(\[0\])?\.privateKeyFile: looks like PEM key material/,
      ],
      [
        'keys.privateKeyFile [a JWK as JSON text]',
        () => ({ keys: { privateKeyFile: JSON.stringify({ kty: 'oct', k: SECRET_K }) } }),
        /^keys(\[0\])?\.privateKeyFile: looks like a JWK, not a file name/,
      ],
      [
        'keys.privateKey [no such member]',
        (pem) => ({ keys: { privateKey: pem, alg: 'ES256' } }),
        /^keys(\[0\])?: "privateKey" is not a key source member; PEM text goes in privateKeyPem/,
      ],
    ];
    for (const [title, options, message] of cases) {
      it(`names the option and hides the key [${title}]`, async () => {
        const { error, text } = await attempt(options(privatePem));
        expect(error).to.be.instanceOf(KeyError).and.include({ code: 'ERR_KEY' });
        expect(error.message).to.match(message);
        expectNoFragment(text, privatePem);
        expectNoFragment(text, SECRET_K);
      });
    }

    it('does not quote a file name that reads as a secret [base64 without armour, a passphrase]', async () => {
      const base64 = material(privatePem);
      const passphrase = randomBytes(24).toString('hex');
      for (const value of [base64, passphrase]) {
        const { error, text } = await attempt({ keys: { privateKeyFile: value, alg: 'ES256' } });
        expect(error).to.be.instanceOf(KeyError);
        expect(error.message).to.equal(
          'keys[0].privateKeyFile: cannot read the file (ENOENT); the value is not shown as it does ' +
            'not look like a file name',
        );
        expectNoFragment(text, value);
      }
    });

    it('still quotes a file name that reads as one [an extension, an existing directory]', async () => {
      for (const file of [join(dir.path, 'missing.key'), join(dir.path, 'private')]) {
        const { error } = await attempt({ keys: { privateKeyFile: file, alg: 'ES256' } });
        expect(error.message).to.equal(
          `keys[0].privateKeyFile "${file}": cannot read the file (ENOENT)`,
        );
      }
    });
  });

  describe('wrong secrets and keys', () => {
    it('hides a malformed PEM [privateKeyPem, certificatePem, publicKeyPem]', async () => {
      const garbage = `-----BEGIN PRIVATE KEY-----\n${randomBytes(90).toString('base64')}\n-----END PRIVATE KEY-----\n`;
      const garbageCert = garbage.replace(/PRIVATE KEY/g, 'CERTIFICATE');
      for (const keys of [
        { privateKeyPem: garbage },
        { privateKeyPem: privatePem, certificatePem: garbageCert, alg: 'ES256' },
        { publicKeyPem: garbage },
      ]) {
        const { error, text } = await attempt({ keys });
        expect(error).to.be.instanceOf(KeyError);
        expectNoFragment(text, garbage);
        expectNoFragment(text, privatePem);
      }
    });

    it('hides a JWK whose private members are wrong [jwk, jwks]', async () => {
      const { privateJwk } = await keyPair('ES256');
      const d = `${String(privateJwk.d)}AAAA`;
      const broken = { ...privateJwk, d };
      for (const keys of [{ jwk: broken }, { jwks: { keys: [broken] } }]) {
        const { error, text } = await attempt({ keys });
        expect(error).to.be.instanceOf(KeyError).and.include({ code: 'ERR_KEY' });
        expectNoFragment(text, d);
      }
      const k = `*${randomBytes(16).toString('hex')}*`;
      const { text } = await attempt({ keys: { jwk: { kty: 'oct', k } } });
      expectNoFragment(text, k);
    });

    it('hides a secret too short for its algorithm [keys, refreshKeys]', async () => {
      const secret = randomBytes(40).toString('base64url');
      for (const options of [
        { keys: { secret, alg: 'HS512' } },
        { refreshKeys: { secret, alg: 'HS512' } },
      ]) {
        const { error, text } = await attempt(options);
        expect(error).to.be.instanceOf(KeyError);
        expectNoFragment(text, secret);
      }
    });

    it('hides a wrong subjectSecret [too short, not a string]', async () => {
      const short = randomBytes(15).toString('hex');
      const { error, text } = await attempt({ subjectSecret: short });
      expect(error).to.be.instanceOf(ConfigError);
      expect(error.message).to.match(/^options\.subjectSecret /);
      expectNoFragment(text, short);
      const bytes = Buffer.from(randomBytes(32).toString('hex'));
      const wrongType = await attempt({ subjectSecret: bytes });
      expect(wrongType.error.message).to.equal('options.subjectSecret must be string');
      expectNoFragment(wrongType.text, bytes.toString());
    });
  });

  describe('MongoDB connection strings', () => {
    const password = `Pw${randomBytes(12).toString('hex')}`;

    it('refuses a malformed one with a ConfigError that names the option, not the password', async () => {
      const { error, text } = await attempt({
        store: { mongo: { uri: `mongodb://alice:${password}@127.0.0.1:1/auth?maxPoolSize=many` } },
      });
      expect(error).to.be.instanceOf(ConfigError).and.include({ code: 'ERR_CONFIG' });
      expect(error.message).to.match(
        /^store\.mongo\.uri is not a MongoDB connection string: Expected maxPoolSize/,
      );
      expectNoFragment(text, password);
    });

    it('fails closed on an unreachable server, without the password', async () => {
      const { error, text } = await attempt({
        store: {
          mongo: {
            uri: `mongodb://alice:${password}@127.0.0.1:1/auth`,
            serverSelectionTimeoutMS: 200,
          },
        },
      });
      expect(error).to.be.instanceOf(StoreUnavailableError);
      expectNoFragment(text, password);
    });
  });

  describe('the resolved config (auth.config)', () => {
    /** What `console.log(value)` writes, through a console of its own. */
    function logged(value: unknown): string {
      let text = '';
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          text += chunk.toString('utf8');
          done();
        },
      });
      new Console({ stdout: sink, stderr: sink }).log(value);
      return text;
    }

    /** Every way a host prints a config: inspect (also with hidden members), JSON, console.log. */
    function printed(value: unknown): string {
      return [
        inspect(value, { depth: Infinity }),
        inspect(value, { depth: Infinity, showHidden: true }),
        JSON.stringify(value),
        logged(value),
      ].join('\n');
    }

    it('prints no key, secret or password, and the plugin still signs with them', async () => {
      const { privatePem: pem, privateJwk } = await keyPair('ES256');
      const secrets = {
        hmac: randomBytes(32).toString('base64url'),
        refresh: randomBytes(32).toString('base64url'),
        kek: randomBytes(32).toString('base64url'),
        bytes: randomBytes(32),
      };
      const auth = await jwtconnect({
        issuer: 'https://auth.example.org',
        keys: [
          { privateKeyPem: pem, alg: 'ES256', kid: 'pem' },
          { jwk: privateJwk, alg: 'ES256', kid: 'jwk' },
          { secret: secrets.hmac, alg: 'HS256', kid: 'hmac' },
          { secret: secrets.bytes, alg: 'HS256', kid: 'bytes' },
        ],
        refreshKeys: { secret: secrets.refresh, alg: 'HS256' },
        subjectSecret: SUBJECT_SECRET,
        personalData: { keys: [{ kid: 'kek-1', secret: secrets.kek }] },
        store: { memory: true },
        logger: { warn: () => undefined, error: () => undefined },
      });
      try {
        const { config } = auth;
        for (const [title, value, shown] of [
          ['auth.config', config, 'https://auth.example.org'],
          ['a spread of it', { ...config }, 'https://auth.example.org'],
          ['its keys', config.keys, 'hmac'],
          ['its personal data options', config.personalData, 'kek-1'],
        ] as const) {
          const text = printed(value);
          for (const secret of [
            pem,
            String(privateJwk.d),
            secrets.hmac,
            secrets.refresh,
            secrets.kek,
            secrets.bytes.toString('base64url'),
            secrets.bytes.toString('hex'),
            SUBJECT_SECRET,
          ]) {
            expectNoFragment(text, secret);
          }
          // What is not secret still shows, so the output stays useful.
          expect(text, title).to.include(shown);
        }
        expect(inspect(config)).to.include("kid: 'hmac'").and.include('[redacted]');
        // A structured clone copies no secret either: the config holds functions (the clock, the
        // logger), so cloning it throws. A clone of one part (config.keys) would copy the values.
        expect(() => structuredClone(config))
          .to.throw(DOMException)
          .with.property('name', 'DataCloneError');
        // The values stay in place for the plugin itself.
        expect(config.subjectSecret).to.equal(SUBJECT_SECRET);
        expect(config.keys[2]).to.include({ secret: secrets.hmac });
        expect(config.personalData.keys[0]).to.include({ secret: secrets.kek });
        const pair = await auth.issue({ id: 'u-config' }, { source: 'saml' });
        expect(await auth.refresh(pair.refresh_token)).to.have.property('access_token');
      } finally {
        await auth.close();
      }
    });

    it("prints a MongoDB connection string without its password, and no host's Db", () => {
      const password = `Pw${randomBytes(12).toString('hex')}`;
      const options = (): JwtConnectOptions => ({
        issuer: 'https://auth.example.org',
        keys: { secret: randomBytes(32), alg: 'HS256' },
        subjectSecret: SUBJECT_SECRET,
        store: { memory: true },
      });
      const config = resolveConfig({
        ...options(),
        store: { mongo: { uri: `mongodb://alice:${password}@db.example.org/auth` } },
      });
      for (const value of [config, { ...config }, config.store]) {
        const text = printed(value);
        expectNoFragment(text, password);
        expect(text).to.include('mongodb://alice:***@db.example.org/auth');
      }
      expect((config.store as { mongo: { uri: string } }).mongo.uri).to.include(password);
      // A host's Db holds its client, whose options hold the credentials: printed by name only.
      const db = { databaseName: 'auth', client: { options: { credentials: { password } } } };
      const withDb = resolveConfig({ ...options(), store: { mongo: { db: db as never } } });
      expectNoFragment(printed(withDb), password);
      expect(printed(withDb)).to.include('[Db auth]');
      expect((withDb.store as { mongo: { db: unknown } }).mongo.db).to.equal(db);
    });
  });
});
