/**
 * The `subject` option: an app moving from django-jwtconnect-auth keeps its `sub` values, which
 * that package computes as the unkeyed SHA-256 of the username in hex (`jwtconnect_auth/utils.py`
 * `get_hash`, used by `jwts.py`). Whatever the function returns must be a usable ledger id.
 */
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import { resolveConfig, type JwtConnectOptions } from '../../lib/config.js';
import { ConfigError, HookError, InvalidTokenError } from '../../lib/errors.js';
import { pluginsPerTest } from '../support/instances.js';
import {
  ALICE,
  SUBJECT_SECRET,
  TEST_ISSUER,
  testPlugin,
  type TestPlugin,
} from '../support/plugin.js';

use(chaiAsPromised);

/** django-jwtconnect-auth's `sub`: `hashlib.sha256(user.username.encode()).hexdigest()`. */
function djangoSubject(username: string): string {
  return createHash('sha256').update(username, 'utf8').digest('hex');
}

/** Computed with Python's hashlib, independently of the function above. */
const DJANGO_SUB_ALICE = '2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90';
const DJANGO_SUB_ZOE = '2752b88686847fa5c86f47b94ce652b7b3f22a91c37617d451a4db9afa431450';

describe('subject option', () => {
  it('must be a function', () => {
    const options = {
      issuer: TEST_ISSUER,
      keys: { secret: 'x'.repeat(32), alg: 'HS256' },
      subjectSecret: SUBJECT_SECRET,
      store: { memory: true },
      subject: 'sha256',
    } as unknown as JwtConnectOptions;
    expect(() => resolveConfig(options))
      .to.throw(ConfigError)
      .with.property('message', 'options.subject must be a function');
  });
});

for (const kind of ['memory', 'MongoDB'] as const) {
  describe(`subject option [${kind}]`, () => {
    const plugins = pluginsPerTest(kind, 'subject');

    async function plugin(overrides: Partial<JwtConnectOptions> = {}): Promise<TestPlugin> {
      return plugins.track(await testPlugin(plugins.db(), overrides));
    }

    const django = {
      userId: (user: Record<string, unknown>) => String(user['username']),
      subject: djangoSubject,
    };

    it("keeps django-jwtconnect-auth's sub values through issue, refresh and revocation", async () => {
      const p = await plugin(django);
      expect(p.auth.subjectOf(ALICE)).to.equal(DJANGO_SUB_ALICE);
      expect(p.auth.subjectOf({ id: 'u-zoe', username: 'zoë' })).to.equal(DJANGO_SUB_ZOE);
      const pair = await p.auth.issue(ALICE, { source: 'password' });
      expect(decodeJwt(pair.access_token).sub).to.equal(DJANGO_SUB_ALICE);
      const next = await p.auth.refresh(pair.refresh_token);
      expect(decodeJwt(next.access_token).sub).to.equal(DJANGO_SUB_ALICE);
      await expect(p.auth.tokens.verify(next.access_token)).to.be.fulfilled;
      const { events } = await p.auth.audit.history({ sub: DJANGO_SUB_ALICE });
      expect(events.map((event) => event.type)).to.deep.equal(['issued', 'refreshed']);
      p.clock.advance(1000);
      await p.auth.revoke({ sub: DJANGO_SUB_ALICE }, { reason: 'user_deactivated' });
      await expect(p.auth.tokens.verify(next.access_token))
        .to.be.rejectedWith(InvalidTokenError)
        .and.eventually.have.property('reason', 'revoked');
    });

    it('keeps the keyed HMAC by default, which the bare hash of the id does not give', async () => {
      const p = await plugin({ userId: django.userId });
      const sub = p.auth.subjectOf(ALICE);
      expect(sub).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(sub).to.not.equal(DJANGO_SUB_ALICE);
    });

    it('refuses what the function returns unless it is a usable id, recording nothing [empty, number, undefined, too long, throws]', async () => {
      const answers: (() => unknown)[] = [
        () => '',
        () => 42,
        () => undefined,
        () => 'x'.repeat(505),
        () => {
          throw new Error('lookup failed');
        },
      ];
      const recorded = async (p: TestPlugin) =>
        (await p.auth.audit.history({ limit: 500 })).events.length;
      for (const answer of answers) {
        const p = await plugin({ subject: answer as (id: string) => string });
        const before = await recorded(p);
        await expect(p.auth.issue(ALICE, { source: 'password' }))
          .to.be.rejectedWith(HookError)
          .and.eventually.have.property('code', 'ERR_HOOK');
        expect(() => p.auth.subjectOf(ALICE)).to.throw(HookError);
        expect(await recorded(p)).to.equal(before);
      }
      const longest = await plugin({ subject: () => 'x'.repeat(504) });
      await expect(longest.auth.issue(ALICE, { source: 'password' })).to.be.fulfilled;
    });
  });
}
