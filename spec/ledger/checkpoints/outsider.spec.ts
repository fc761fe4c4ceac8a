/**
 * An outsider's check of an inclusion proof, written from the published format alone (the
 * checkpoint claims, RFC 6962 section 2.1, RFC 8785, the stored-form rule of docs/checkpoints.md),
 * with node:crypto and jose and none of the plugin's code: what a relying party, an auditor or a
 * court would run.
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { compactVerify, createLocalJWKSet, decodeJwt, errors, type JSONWebKeySet } from 'jose';
import { fakeClock } from '../../support/clock.js';
import { ALICE, BOB, testPlugin, type TestPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * RFC 8785 for the values a ledger event holds (strings, integers, booleans, null, arrays,
 * objects): keys sorted by UTF-16 code units, no whitespace, JSON.stringify's string escaping.
 */
function jcs(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${jcs(value[key] as Json)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const sha256 = (...parts: (Buffer | string)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/** RFC 9162 section 2.1.3.2: the root an inclusion proof leads to, or null. */
function rootFrom(index: number, size: number, leaf: Buffer, path: Buffer[]): Buffer | null {
  if (index >= size) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn === 0 ? r : null;
}

type JsonEvent = { [key: string]: Json };

interface Proof {
  stream: string;
  events: JsonEvent[];
  checkpoint: string;
  index: number;
  path: string[];
}

/**
 * An event as stored, from an event as the proof shows it: one that carries `ciphertext` loses it
 * and its clear personal members (`claims`, `meta.ip`, `meta.userAgent`), and `personal` becomes
 * that ciphertext; any other event is shown as stored.
 */
function storedForm(event: JsonEvent): JsonEvent {
  if (!('ciphertext' in event)) return event;
  const { ciphertext, claims: _claims, meta, ...rest } = event;
  const { ip: _ip, userAgent: _userAgent, ...storedMeta } = meta as JsonEvent;
  return { ...rest, meta: storedMeta, personal: ciphertext as Json };
}

/** True when the proof holds; the steps of the format's description, in order. */
async function outsiderVerifies(proof: Proof, jwks: JSONWebKeySet): Promise<boolean> {
  // 1. The checkpoint is a JWS of type ledger-checkpoint+jwt under a key of the JWKS.
  let claims: { upto: number; streams: number; root: string };
  try {
    const { payload, protectedHeader } = await compactVerify(
      proof.checkpoint,
      createLocalJWKSet(jwks),
    );
    if (protectedHeader.typ !== 'ledger-checkpoint+jwt') return false;
    claims = JSON.parse(Buffer.from(payload).toString('utf8')) as typeof claims;
  } catch (error) {
    if (error instanceof errors.JOSEError) return false;
    throw error;
  }
  // 2. The events chain: seq from 1, each hash the SHA-256 of its canonical form without `hash`,
  //    each `prev` the hash of the one before, all of this session, none after `upto`.
  let prev: Json = null;
  for (const [i, event] of proof.events.entries()) {
    const { hash, ...body } = storedForm(event);
    if (sha256(jcs(body)).toString('hex') !== hash) return false;
    if (event['prev'] !== prev || event['seq'] !== i + 1 || event['stream'] !== proof.stream) {
      return false;
    }
    if (Date.parse(event['time'] as string) > claims.upto * 1000) return false;
    prev = hash as Json;
  }
  const last = proof.events.at(-1);
  if (!last) return false;
  // 3. The last event is the session's leaf; the path leads from it to the signed root.
  const leaf = jcs({ hash: last['hash'] as Json, seq: last['seq'] as Json, stream: proof.stream });
  const root = rootFrom(
    proof.index,
    claims.streams,
    sha256(Buffer.from([0]), leaf),
    proof.path.map((node) => Buffer.from(node, 'base64url')),
  );
  return root !== null && root.toString('base64url') === claims.root;
}

describe('an inclusion proof, checked by an outsider with node:crypto and jose only', () => {
  it('holds for every session of a ledger, and fails once anything in it is changed', async () => {
    const clock = fakeClock();
    const { auth } = await testPlugin(null, {}, clock);
    try {
      const sids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const pair = await auth.issue({ id: `u-outsider-${i}` }, { source: 'saml' });
        sids.push(decodeJwt(pair.access_token)['sid'] as string);
        clock.advance(1000);
        if (i % 2 === 0) await auth.refresh(pair.refresh_token);
        if (i === 3) await auth.revoke({ sid: sids[3] as string }, { reason: 'logout' });
      }
      await auth.revoke({ sub: auth.subjectOf(ALICE) }, { reason: 'password_changed' });
      await auth.issue(BOB, { source: 'saml' });
      clock.advance(10_000);
      await auth.audit.checkpoint();
      const jwks = JSON.parse(JSON.stringify(auth.tokens.jwks())) as JSONWebKeySet;
      for (const sid of sids) {
        const proof = JSON.parse(JSON.stringify(await auth.audit.prove(sid))) as Proof;
        expect(await outsiderVerifies(proof, jwks), sid).to.equal(true);
        const other = JSON.parse(
          JSON.stringify(await auth.audit.prove(sids[0] === sid ? sids[1]! : sids[0]!)),
        ) as Proof;
        expect(await outsiderVerifies({ ...proof, events: other.events }, jwks)).to.equal(false);
        expect(await outsiderVerifies({ ...proof, index: other.index }, jwks)).to.equal(false);
        const changed = proof.events.map((e, i) =>
          i === 0 ? { ...e, time: new Date(0).toISOString() } : e,
        );
        expect(await outsiderVerifies({ ...proof, events: changed }, jwks)).to.equal(false);
        expect(
          await outsiderVerifies({ ...proof, events: proof.events.slice(0, -1) }, jwks),
        ).to.equal(false);
      }
    } finally {
      await auth.close();
    }
  });

  describe('with personal data', () => {
    const request = { ip: '203.0.113.7', get: () => 'outsider-spec/1.0' } as unknown as Context;
    let plugin: TestPlugin;
    let jwks: JSONWebKeySet;
    let sid: string;
    const proofOf = async (options?: { personal: 'sealed' }) =>
      JSON.parse(JSON.stringify(await plugin.auth.audit.prove(sid, options))) as Proof;

    beforeEach(async () => {
      plugin = await testPlugin(null);
      const pair = await plugin.auth.issue(ALICE, { source: 'saml', ctx: request });
      sid = decodeJwt(pair.access_token)['sid'] as string;
      plugin.clock.advance(1000);
      await plugin.auth.refresh(pair.refresh_token, request);
      await plugin.auth.issue(BOB, { source: 'saml' });
      plugin.clock.advance(10_000);
      await plugin.auth.audit.checkpoint();
      jwks = JSON.parse(JSON.stringify(plugin.auth.tokens.jwks())) as JSONWebKeySet;
    });
    afterEach(async () => {
      await plugin.auth.close();
    });

    it("shows history's events, each with its ciphertext, and holds; a sealed proof holds too", async () => {
      const proof = await proofOf();
      const history = await plugin.auth.audit.history({ sid });
      expect(proof.events.map(({ ciphertext: _c, ...view }) => view)).to.deep.equal(
        JSON.parse(JSON.stringify(history.events)),
      );
      const [issued] = proof.events;
      expect(issued).to.deep.include({
        personal: 'decrypted',
        claims: { username: 'alice', given_name: 'Alice', email: 'alice@example.org' },
        meta: { source: 'saml', ip: '203.0.113.7', userAgent: 'outsider-spec/1.0' },
      });
      expect(issued?.['ciphertext']).to.match(/^eyJ[\w-]*\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(await outsiderVerifies(proof, jwks)).to.equal(true);

      const sealed = await proofOf({ personal: 'sealed' });
      expect(JSON.stringify(sealed))
        .to.not.include('alice@example.org')
        .and.not.include('203.0.113.7');
      expect(sealed.events.map((event) => event['personal'])).to.deep.equal(
        proof.events.map((event) => event['ciphertext']),
      );
      expect(await outsiderVerifies(sealed, jwks)).to.equal(true);
      expect(await plugin.auth.audit.verifyProof(sealed)).to.deep.include({ ok: true });
    });

    it('still holds once the subject is erased, the ciphertext kept and the fields marked erased', async () => {
      await plugin.auth.erase(ALICE);
      const [issued] = (await proofOf()).events;
      expect(issued).to.include({ personal: 'erased' }).and.not.have.property('claims');
      expect(issued?.['meta']).to.deep.equal({ source: 'saml' });
      expect(await outsiderVerifies(await proofOf(), jwks)).to.equal(true);
    });

    it('fails once a ciphertext, or a member outside it, is changed or dropped', async () => {
      const proof = await proofOf();
      const edit = (change: (event: JsonEvent) => JsonEvent): Proof => ({
        ...proof,
        events: proof.events.map((event, i) => (i === 0 ? change(event) : event)),
      });
      const ciphertext = String(proof.events[0]?.['ciphertext']);
      const flipped = `${ciphertext.slice(0, -2)}${ciphertext.endsWith('AA') ? 'AB' : 'AA'}`;
      for (const [title, tampered] of [
        ['another ciphertext', edit((e) => ({ ...e, ciphertext: flipped }))],
        ['the ciphertext dropped', edit(({ ciphertext: _c, ...e }) => e)],
        [
          'the login source',
          edit((e) => ({ ...e, meta: { ...(e['meta'] as JsonEvent), source: 'password' } })),
        ],
        [
          'the clear claims moved to a sealed event',
          edit(({ ciphertext: _c, ...e }) => ({ ...e, personal: ciphertext })),
        ],
      ] as const) {
        expect(await outsiderVerifies(tampered, jwks), title).to.equal(false);
        expect((await plugin.auth.audit.verifyProof(tampered)).ok, title).to.equal(false);
      }
    });

    it('cannot tell edited clear fields from the ciphertext they claim to show; the plugin can', async () => {
      const proof = await proofOf();
      const [issued, ...rest] = proof.events as [JsonEvent, ...JsonEvent[]];
      const claims = { ...(issued['claims'] as JsonEvent), email: 'mallory@example.org' };
      const meta = { ...(issued['meta'] as JsonEvent), ip: '198.51.100.9' };
      for (const edited of [
        { ...issued, claims },
        { ...issued, meta },
        { ...issued, personal: 'erased' },
      ]) {
        const tampered = { ...proof, events: [edited, ...rest] };
        // The hashes cover the ciphertext only: the clear text is the prover's word.
        expect(await outsiderVerifies(tampered, jwks)).to.equal(true);
        // The plugin holds the data keys, opens the ciphertext and compares.
        const report = await plugin.auth.audit.verifyProof(tampered);
        expect(report.ok).to.equal(false);
        expect(report.problems).to.have.length(1);
        expect(report.problems[0]).to.match(new RegExp(`^stream ${sid} seq 1: personal fields`));
      }
      expect(await plugin.auth.audit.verifyProof(proof)).to.deep.include({
        ok: true,
        problems: [],
      });
    });
  });
});
