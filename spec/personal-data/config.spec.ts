import * as chai from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { resolveConfig, type JwtConnectOptions } from '../../lib/config.js';
import { ConfigError } from '../../lib/errors.js';

chai.use(chaiAsPromised);
const { expect } = chai;

const BASE: JwtConnectOptions = {
  issuer: 'https://auth.example.org',
  keys: { secret: 'k'.repeat(32) },
  subjectSecret: 's'.repeat(32),
  store: { memory: true },
};

const refused = (personalData: unknown, message: string) =>
  expect(() => resolveConfig({ ...BASE, personalData } as JwtConnectOptions))
    .to.throw(ConfigError, message)
    .with.property('code', 'ERR_CONFIG');

describe('options.personalData', () => {
  it('defaults to the derived key, no retention and a cache of 10000 keys', () => {
    expect(resolveConfig(BASE).personalData).to.deep.equal({
      keys: [],
      retentionDays: undefined,
      expireInterval: 0,
      keyCache: { maxEntries: 10_000 },
    });
  });

  it('takes one key-encryption key or a list, and retention with a timer', () => {
    const key = { kid: 'k1', secret: 'x'.repeat(32) };
    expect(resolveConfig({ ...BASE, personalData: { keys: key } }).personalData.keys).to.deep.equal(
      [key],
    );
    const config = resolveConfig({
      ...BASE,
      personalData: {
        keys: [key, { kid: 'k0', secret: 'y'.repeat(40) }],
        retentionDays: 90,
        expireInterval: 3600,
      },
    });
    expect(config.personalData).to.deep.include({ retentionDays: 90, expireInterval: 3600 });
    expect(config.personalData.keys.map((k) => k.kid)).to.deep.equal(['k1', 'k0']);
  });

  it('refuses wrong options with a ConfigError naming the option', () => {
    refused({ keys: { kid: 'k', secret: 'short' } }, 'options.personalData.keys');
    refused({ keys: [{ kid: '', secret: 'x'.repeat(32) }] }, 'options.personalData.keys');
    refused(
      {
        keys: [
          { kid: 'a', secret: 'x'.repeat(32) },
          { kid: 'a', secret: 'y'.repeat(32) },
        ],
      },
      'options.personalData.keys.1.kid "a" is used twice',
    );
    refused({ retentionDays: 0 }, 'options.personalData.retentionDays');
    refused({ retentionDays: 1.5 }, 'options.personalData.retentionDays');
    refused({ expireInterval: 60 }, 'options.personalData.expireInterval needs');
    refused({ keyCache: { maxEntries: -1 } }, 'options.personalData.keyCache.maxEntries');
    refused({ retention: 30 }, 'options.personalData.retention is not an option');
  });
});
