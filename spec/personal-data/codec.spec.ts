import * as chai from 'chai';
import chaiAsPromised from 'chai-as-promised';
import fc from 'fast-check';
import { PersonalDataError } from '../../lib/errors.js';
import type { EventDraft, LedgerEvent } from '../../lib/ledger/events.js';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import type { DataKeyRecord } from '../../lib/ledger/store.js';
import { openPersonal, protect, reveal } from '../../lib/personal-data/codec.js';
import { DataKeys } from '../../lib/personal-data/data-keys.js';
import { KeyEncryptionKeys } from '../../lib/personal-data/key-encryption.js';
import { userClaimsOf } from '../../lib/sessions/issue.js';
import { buildAccessClaims, type ClaimsMap } from '../../lib/tokens/claims.js';
import { fakeClock } from '../support/clock.js';

chai.use(chaiAsPromised);
const { expect } = chai;

const SECRET = 's'.repeat(40);
const NOW = Date.UTC(2026, 4, 2, 8, 0, 0);

function dataKeys(store = new MemoryStore(), keks = new KeyEncryptionKeys(SECRET)) {
  return new DataKeys(store, keks, fakeClock(NOW), 100);
}

function issuedDraft(sub: string, claims: Record<string, unknown> | undefined): EventDraft {
  return {
    type: 'issued',
    sub,
    meta: { source: 'saml', ip: '192.0.2.1', userAgent: 'UA/1' },
    access: { jti: 'a', exp: 1 },
    refresh: { jti: 'r', exp: 2 },
    ...(claims && { claims }),
  };
}

/** A sealed event from a draft, as far as `reveal` looks at it. */
function asEvent(draft: EventDraft): LedgerEvent {
  return {
    ...draft,
    v: 1,
    stream: 's',
    seq: 1,
    time: new Date(NOW),
    jtis: [],
    prev: null,
    hash: 'h',
  } as LedgerEvent;
}

const claimName = fc.string({ minLength: 1, maxLength: 12 }).filter((name) => name !== '__proto__');

describe('personal data encryption', () => {
  it('round-trips any user claims the claims map and extra claims can produce', async () => {
    const store = new MemoryStore();
    await store.open();
    const keys = dataKeys(store);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(claimName, claimName, fc.jsonValue({ maxDepth: 3 })), { maxLength: 6 }),
        fc.dictionary(claimName, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
        async (fields, extra) => {
          // User field -> claim name -> the user's value, and extra claims beside them.
          const map: ClaimsMap = Object.fromEntries(fields.map(([field, claim]) => [field, claim]));
          const user = Object.fromEntries(fields.map(([field, , value]) => [field, value]));
          let claims: Record<string, unknown>;
          try {
            const built = buildAccessClaims(
              user,
              { issuer: 'https://i', ttlSeconds: 60, claimsMap: map },
              { sub: 'sub-1', sid: 'sid', jti: 'jti', now: 1 },
              extra,
            );
            claims = userClaimsOf(built) ?? {};
          } catch (error) {
            // A claim the plugin sets itself is refused (at start-up or on issue): nothing stored.
            if ((error as { code?: unknown }).code === 'ERR_CONFIG') return;
            throw error;
          }
          const draft = await protect(keys, issuedDraft('sub-1', claims), NOW);
          expect(draft).to.not.have.property('claims');
          expect(draft.meta).to.deep.equal({ source: 'saml' });
          const [event] = await reveal(keys, [asEvent(draft)]);
          // What a token carries is JSON: the claims read back as the token would hold them.
          const expected = JSON.parse(JSON.stringify(claims)) as Record<string, unknown>;
          expect(event).to.deep.include({
            personal: 'decrypted',
            meta: { source: 'saml', ip: '192.0.2.1', userAgent: 'UA/1' },
          });
          if (Object.keys(expected).length > 0) expect(event).to.deep.include({ claims: expected });
          else expect(event).to.not.have.property('claims');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('leaves a draft without personal fields as it is, and makes no key for it', async () => {
    const store = new MemoryStore();
    const keys = dataKeys(store);
    const draft: EventDraft = {
      type: 'revoked',
      sub: 'x',
      meta: { reason: 'logout' },
      target: { kind: 'session' },
    };
    expect(await protect(keys, draft, NOW)).to.equal(draft);
    expect(await store.liveDataKeys({ sub: 'x' })).to.deep.equal([]);
  });

  it('uses one key per subject and month, and a new one in the next month', async () => {
    const store = new MemoryStore();
    const keys = dataKeys(store);
    await protect(keys, issuedDraft('a', { email: 'a@x' }), NOW);
    await protect(keys, issuedDraft('a', { email: 'a@x' }), NOW + 1000);
    await protect(keys, issuedDraft('b', { email: 'b@x' }), NOW);
    await protect(keys, issuedDraft('a', { email: 'a@x' }), Date.UTC(2026, 5, 1));
    const periods = (await store.liveDataKeys({ sub: 'a' })).map((key) => key.period).sort();
    expect(periods).to.deep.equal(['2026-05', '2026-06']);
    expect(await store.liveDataKeys({ sub: 'b' })).to.have.length(1);
  });

  it('makes one key for a burst of concurrent first writes of one subject', async () => {
    const store = new MemoryStore();
    const keys = dataKeys(store);
    await Promise.all(
      Array.from({ length: 10 }, () => protect(keys, issuedDraft('a', { email: 'a' }), NOW)),
    );
    expect(await store.liveDataKeys({ sub: 'a' })).to.have.length(1);
  });

  it('stores data keys only wrapped, and opens them with the next key list after a rotation', async () => {
    const store = new MemoryStore();
    const draft = await protect(dataKeys(store), issuedDraft('a', { email: 'a@x' }), NOW);
    const [record] = await store.liveDataKeys({ sub: 'a' });
    expect(record?.wrapped).to.match(/^[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const rotated = new KeyEncryptionKeys(SECRET, [{ kid: 'kek-2', secret: 'k'.repeat(32) }]);
    const later = dataKeys(store, rotated);
    expect(await openPersonal(later, draft.personal as string)).to.deep.include({
      claims: { email: 'a@x' },
    });
    // New keys are wrapped by the first listed key, which a reader without it cannot open.
    const next = await protect(later, issuedDraft('b', { email: 'b@x' }), NOW);
    await expect(openPersonal(dataKeys(store), next.personal as string))
      .to.be.rejectedWith(PersonalDataError)
      .and.eventually.have.property('reason', 'unavailable');
  });

  it('reads as unavailable under another secret, for a moved wrapped key and a forged ciphertext', async () => {
    const store = new MemoryStore();
    const keys = dataKeys(store);
    const a = await protect(keys, issuedDraft('a', { email: 'a@x' }), NOW);
    const b = await protect(keys, issuedDraft('b', { email: 'b@x' }), NOW);
    const other = dataKeys(store, new KeyEncryptionKeys('o'.repeat(40)));
    const status = async (reader: DataKeys, draft: EventDraft) =>
      (await reveal(reader, [asEvent(draft)]))[0]?.personal;
    expect(await status(other, a)).to.equal('unavailable');

    // A's wrapped key copied onto B's record: refused, not opened under B's name.
    const [keyA] = await store.liveDataKeys({ sub: 'a' });
    const [keyB] = await store.liveDataKeys({ sub: 'b' });
    const moved = new MemoryStore();
    await moved.insertDataKey({ ...(keyB as DataKeyRecord), wrapped: keyA?.wrapped as string });
    expect(await status(dataKeys(moved), b)).to.equal('unavailable');

    const [header, , iv, text, tag] = (a.personal as string).split('.');
    const forged = [header, '', iv, `${text}A`, tag].join('.');
    expect(await status(keys, { ...a, personal: forged })).to.equal('unavailable');
    expect(await status(null as never, a)).to.equal('unavailable');
  });
});
