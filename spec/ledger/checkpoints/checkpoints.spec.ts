/**
 * Checkpoints and proofs through the plugin, on the memory store and on MongoDB: the JWS and its
 * claims, the chain of checkpoints, two instances checkpointing at once, proofs and what they
 * refuse, and a checkpoint never passing as a token.
 */
import { createHash } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { ledgerOf } from '../../../lib/internals.js';
import { CHECKPOINT_TYP, type InclusionProof } from '../../../lib/ledger/checkpoints/index.js';
import { MemoryStore } from '../../../lib/ledger/memory-store.js';
import type { LedgerStore } from '../../../lib/ledger/store.js';
import { fakeClock } from '../../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../../support/db.js';
import { bearer, get, postForm, startApp } from '../../support/http.js';
import { ALICE, BOB, testPlugin, type TestPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';

const SETTLE = 5;

for (const kind of ['memory', 'mongodb'] as const) {
  describe(`checkpoints and proofs [${kind}]`, () => {
    let t: TestDatabase | undefined;
    const plugins: TestPlugin[] = [];
    before(async () => {
      if (kind === 'mongodb') t = await openTestDatabase('checkpoints');
    });
    after(async () => {
      for (const p of plugins) await p.auth.close();
      await t?.dispose();
    });

    /** A plugin with a store of its own: a fresh database's collections, or a memory store. */
    async function plugin(store?: LedgerStore, clock = fakeClock()): Promise<TestPlugin> {
      const suffix = Math.random().toString(36).slice(2, 8);
      const p = await testPlugin(
        null,
        {
          store: store
            ? { custom: store }
            : t
              ? {
                  mongo: {
                    db: t.db,
                    collections: {
                      events: `e_${suffix}`,
                      state: `s_${suffix}`,
                      checkpoints: `c_${suffix}`,
                      archives: `a_${suffix}`,
                      archived: `x_${suffix}`,
                    },
                  },
                }
              : { memory: true },
        },
        clock,
      );
      plugins.push(p);
      return p;
    }

    it('signs a JWS with the active key, typ ledger-checkpoint+jwt, and the claims listed', async () => {
      const { auth, clock } = await plugin();
      const a = await auth.issue(ALICE, { source: 'saml' });
      await auth.issue(BOB, { source: 'saml' });
      clock.advance(1000);
      await auth.refresh(a.refresh_token);
      clock.advance(10_000);
      const checkpoint = await auth.audit.checkpoint();
      const header = decodeProtectedHeader(checkpoint.jws);
      expect(header).to.deep.equal({
        alg: 'ES256',
        kid: auth.tokens.jwks().keys[0]?.kid,
        typ: CHECKPOINT_TYP,
      });
      const claims = decodeJwt(checkpoint.jws);
      expect(Object.keys(claims).sort()).to.deep.equal([
        'events',
        'iat',
        'iss',
        'root',
        'streams',
        'upto',
      ]);
      expect(claims).to.include({
        iss: auth.config.issuer,
        iat: Math.floor(clock() / 1000),
        upto: Math.floor(clock() / 1000) - SETTLE,
        streams: 2,
        events: 3,
      });
      expect(checkpoint.claims).to.deep.equal(claims);
      expect(checkpoint.seq).to.equal(1);
      expect((await auth.audit.checkCheckpoint()).ok).to.equal(true);
    });

    it('leaves out events later than upto, and chains each checkpoint to the one before', async () => {
      const { auth, clock } = await plugin();
      await auth.issue(ALICE, { source: 'saml' });
      clock.advance(60_000);
      const first = await auth.audit.checkpoint();
      await auth.issue(BOB, { source: 'saml' }); // within the settle window: not yet covered
      const second = await auth.audit.checkpoint();
      clock.advance(60_000);
      const third = await auth.audit.checkpoint();
      expect(first.claims.prev).to.equal(undefined);
      const digest = (jws: string) => createHash('sha256').update(jws).digest('base64url');
      expect(second.claims.prev).to.equal(digest(first.jws));
      expect(third.claims.prev).to.equal(digest(second.jws));
      expect([first, second, third].map((c) => c.claims.streams)).to.deep.equal([1, 1, 2]);
      const listed = await auth.audit.checkpoints();
      expect(listed.map((c) => c.jws)).to.deep.equal([first.jws, second.jws, third.jws]);
      expect(
        (await auth.audit.checkpoints({ after: 1, limit: 1 })).map((c) => c.seq),
      ).to.deep.equal([2]);
      for (const seq of [1, 2, 3])
        expect((await auth.audit.checkCheckpoint(seq)).ok).to.equal(true);
    });

    it('has one of two instances sharing a store write each checkpoint', async () => {
      const shared = kind === 'memory' ? new MemoryStore() : undefined;
      const clock = fakeClock();
      const one = await plugin(shared, clock);
      const two =
        kind === 'memory'
          ? await plugin(shared, clock)
          : await testPlugin(
              null,
              { store: one.auth.config.store, keys: [...one.auth.config.keys] },
              clock,
            );
      if (kind === 'mongodb') plugins.push(two);
      await one.auth.issue(ALICE, { source: 'saml' });
      await two.auth.issue(BOB, { source: 'saml' });
      clock.advance(10_000);
      const made = await Promise.all([
        one.auth.audit.checkpoint(),
        two.auth.audit.checkpoint(),
        one.auth.audit.checkpoint(),
        two.auth.audit.checkpoint(),
      ]);
      const stored = await one.auth.audit.checkpoints();
      expect(stored.map((c) => c.seq)).to.deep.equal(stored.map((_c, i) => i + 1));
      for (const checkpoint of made) {
        expect(stored.find((c) => c.seq === checkpoint.seq)?.jws).to.equal(checkpoint.jws);
      }
      for (const [i, checkpoint] of stored.entries()) {
        const prev = stored[i - 1];
        expect(checkpoint.claims.prev).to.equal(
          prev && createHash('sha256').update(prev.jws).digest('base64url'),
        );
      }
    });

    it('never lets a checkpoint pass as an access or refresh token', async () => {
      const { auth, clock } = await plugin();
      const pair = await auth.issue(
        { ...ALICE, id: 'u-ckpt-typ' },
        { source: 'saml', scope: 'introspection' },
      );
      clock.advance(10_000);
      const { jws } = await auth.audit.checkpoint();
      await expect(auth.tokens.verify(jws)).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_INVALID_TOKEN',
      );
      await expect(auth.refresh(jws)).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_INVALID_GRANT',
      );
      const app = await startApp(auth);
      try {
        expect((await get(`${app.url}/api/me`, bearer(jws))).status).to.equal(401);
        const introspected = await postForm(
          `${app.url}/token/introspection`,
          { token: jws },
          bearer(pair.access_token),
        );
        expect(introspected.body).to.deep.equal({ active: false });
        const refreshed = await postForm(`${app.url}/token/refresh`, {
          grant_type: 'refresh_token',
          refresh_token: jws,
        });
        expect(refreshed.status).to.equal(400);
        expect(refreshed.body['error']).to.equal('invalid_grant');
      } finally {
        await app.close();
      }
    });

    it('proves a session is in the latest checkpoint, and the proof checks out', async () => {
      const { auth, clock } = await plugin();
      const pair = await auth.issue(ALICE, { source: 'saml' });
      for (let i = 0; i < 3; i++) await auth.issue({ id: `u-other-${i}` }, { source: 'saml' });
      clock.advance(1000);
      await auth.refresh(pair.refresh_token);
      clock.advance(10_000);
      const checkpoint = await auth.audit.checkpoint();
      const sid = decodeJwt(pair.access_token)['sid'] as string;
      const proof = await auth.audit.prove(sid);
      expect(proof).to.include({
        format: 'koa-jwtconnect-proof',
        stream: sid,
        checkpoint: checkpoint.jws,
      });
      expect(proof.events.map((e) => (e as { type: string }).type)).to.deep.equal([
        'issued',
        'refreshed',
      ]);
      expect(proof.path.length).to.be.greaterThan(0);
      // As history shows it, with the ciphertext the hash chain covers (docs/checkpoints.md).
      const [issued] = proof.events as Record<string, unknown>[];
      expect(issued).to.deep.include({
        personal: 'decrypted',
        claims: { username: 'alice', given_name: 'Alice', email: 'alice@example.org' },
      });
      expect(issued).to.have.property('ciphertext').that.is.a('string');
      expect(await auth.audit.verifyProof(proof)).to.deep.include({ ok: true, problems: [] });
      const sealed = await auth.audit.prove(sid, { personal: 'sealed' });
      expect(sealed.events[0]).to.not.have.property('claims');
      expect(sealed.events[0]).to.have.property('personal', issued?.['ciphertext']);
      expect(await auth.audit.verifyProof(sealed)).to.deep.include({ ok: true, problems: [] });
      await expect(
        auth.audit.prove(sid, { personal: 'clear' as never }),
      ).to.be.rejected.and.eventually.have.property('code', 'ERR_LEDGER_INPUT');
    });

    it('refuses a proof for a different session, a changed event and another signer', async () => {
      const { auth, clock } = await plugin();
      const a = decodeJwt((await auth.issue(ALICE, { source: 'saml' })).access_token)[
        'sid'
      ] as string;
      const b = decodeJwt((await auth.issue(BOB, { source: 'saml' })).access_token)[
        'sid'
      ] as string;
      await auth.issue({ id: 'u-third' }, { source: 'saml' });
      clock.advance(10_000);
      await auth.audit.checkpoint();
      const [proofA, proofB] = [await auth.audit.prove(a), await auth.audit.prove(b)];
      const fails = async (proof: unknown) => {
        const report = await auth.audit.verifyProof(proof);
        expect(report.ok).to.equal(false);
        expect(report.problems).to.not.be.empty;
      };
      // B's events presented with A's place in the tree, and A's path claimed for session B.
      await fails({ ...proofA, stream: b, events: proofB.events });
      await fails({ ...proofA, stream: b });
      await fails({ ...proofA, index: proofB.index });
      const [first] = proofA.events as Record<string, unknown>[];
      await fails({ ...proofA, events: [{ ...first, meta: { ip: '203.0.113.7' } }] });
      // The same claims signed by a key the JWKS does not hold, under the plugin's kid.
      const other = await generateKeyPair('ES256');
      const forged = await new SignJWT(decodeJwt(proofA.checkpoint))
        .setProtectedHeader({ ...decodeProtectedHeader(proofA.checkpoint), alg: 'ES256' })
        .sign(other.privateKey);
      await fails({ ...proofA, checkpoint: forged } satisfies InclusionProof);
      // And a JWKS of another key does not verify the genuine checkpoint.
      const { verifyProof } = await import('../../../lib/ledger/checkpoints/index.js');
      const otherJwks = { keys: [{ ...(await exportJWK(other.publicKey)), kid: 'other' }] };
      expect((await verifyProof(proofA, otherJwks)).ok).to.equal(false);
    });

    it('answers with a CheckpointError for a session no checkpoint covers yet, or none at all', async () => {
      const { auth } = await plugin();
      const sid = decodeJwt((await auth.issue(ALICE, { source: 'saml' })).access_token)[
        'sid'
      ] as string;
      await expect(auth.audit.prove(sid)).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_CHECKPOINT',
      );
      await auth.audit.checkpoint(); // upto is before the session
      await expect(auth.audit.prove(sid)).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_CHECKPOINT',
      );
      await expect(auth.audit.prove('no-such-session')).to.be.rejected.and.eventually.have.property(
        'code',
        'ERR_CHECKPOINT',
      );
      await expect(
        auth.audit.prove({ $ne: null } as unknown as string),
      ).to.be.rejected.and.eventually.have.property('code', 'ERR_LEDGER_INPUT');
    });

    if (kind === 'mongodb') {
      it('refuses to prove, and fails the check, once an event was edited after the checkpoint', async () => {
        const { auth, clock } = await plugin();
        const sid = decodeJwt((await auth.issue(ALICE, { source: 'saml' })).access_token)[
          'sid'
        ] as string;
        await auth.issue(BOB, { source: 'saml' });
        clock.advance(10_000);
        await auth.audit.checkpoint();
        const { collections } = (
          auth.config.store as { mongo: { collections: { events: string } } }
        ).mongo;
        const edited = await t!.db
          .collection(collections.events)
          .updateOne({ stream: sid, seq: 1 }, { $set: { 'meta.ip': '203.0.113.66' } });
        expect(edited.modifiedCount).to.equal(1);
        // The edited event keeps its hash: the chain check finds it, and so do checkpoints once
        // the hash is recomputed to hide it.
        expect((await auth.audit.verify()).ok).to.equal(false);
        const [event] = await ledgerOf(auth).store.readStream(sid);
        const { hashEvent } = await import('../../../lib/ledger/hash-chain.js');
        await t!.db
          .collection(collections.events)
          .updateOne({ stream: sid, seq: 1 }, { $set: { hash: hashEvent(event!) } });
        await auth.audit.rebuild();
        expect((await auth.audit.verify()).ok).to.equal(true);
        expect((await auth.audit.checkCheckpoint()).ok).to.equal(false);
        await expect(auth.audit.prove(sid)).to.be.rejected.and.eventually.have.property(
          'code',
          'ERR_INTEGRITY',
        );
      });
    }
  });
}
