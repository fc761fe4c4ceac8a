/**
 * An outsider's check of an inclusion proof, written from the published format alone (the
 * checkpoint claims, RFC 6962 section 2.1, RFC 8785), with node:crypto and jose and none of the
 * plugin's code: what a relying party, an auditor or a court would run.
 */
import { createHash } from 'node:crypto';
import { compactVerify, createLocalJWKSet, decodeJwt, errors, type JSONWebKeySet } from 'jose';
import { fakeClock } from '../../support/clock.js';
import { ALICE, BOB, testPlugin } from '../../support/plugin.js';
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

interface Proof {
  stream: string;
  events: { [key: string]: Json }[];
  checkpoint: string;
  index: number;
  path: string[];
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
    const { hash, ...body } = event;
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
        ).to.equal(proof.events.length === 1 ? false : false);
      }
    } finally {
      await auth.close();
    }
  });
});
