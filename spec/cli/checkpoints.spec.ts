/**
 * The checkpoint commands of the real binary against a database the plugin wrote: `audit
 * checkpoint` and `checkpoints`, `prove` and `verify-proof` (no database), `archive` and
 * `verify --archive` (no database).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { compactVerify, createLocalJWKSet, decodeJwt, type JSONWebKeySet } from 'jose';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { keyPair, tempDir, type TempDir } from '../support/keys.js';
import {
  ALICE,
  BOB,
  SUBJECT_SECRET,
  TEST_ISSUER,
  testPlugin,
  type TestPlugin,
} from '../support/plugin.js';
import { cli, cliOn, type CliRun } from './run.js';

describe('koa-jwtconnect audit checkpoint, prove, archive [MongoDB]', () => {
  let t: TestDatabase;
  let p: TestPlugin;
  let dir: TempDir;
  let run: (args: readonly string[]) => Promise<CliRun>;
  let signing: string[];
  let jwksFile: string;
  let sid: string;

  before(async () => {
    t = await openTestDatabase('cli_checkpoints');
    p = await testPlugin(t.db);
    dir = await tempDir();
    run = cliOn(testServerUri(), t.db.databaseName);
    const key = await dir.write('private.key', (await keyPair('ES256')).privatePem);
    signing = ['--key', key, '--alg', 'ES256', '--issuer', TEST_ISSUER, '--settle', '0'];
    jwksFile = await dir.write('jwks.json', JSON.stringify(p.auth.tokens.jwks()));
    const pair = await p.auth.issue(ALICE, { source: 'saml' });
    sid = decodeJwt(pair.access_token)['sid'] as string;
    p.clock.advance(1000);
    await p.auth.refresh(pair.refresh_token);
    await p.auth.issue(BOB, { source: 'saml' });
  });
  after(async () => {
    await p.auth.close();
    await t.dispose();
    await dir.dispose();
  });

  it('signs a checkpoint the JWKS verifies, lists it, and checks it against the log', async () => {
    const made = await run(['audit', 'checkpoint', ...signing]);
    expect(made.code, made.stderr).to.equal(0);
    const jws = made.stdout.trim();
    const jwks = p.auth.tokens.jwks() as JSONWebKeySet;
    const { protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks));
    expect(protectedHeader.typ).to.equal('ledger-checkpoint+jwt');
    expect(decodeJwt(jws)).to.include({ iss: TEST_ISSUER, streams: 2, events: 3 });
    const listed = await run(['audit', 'checkpoints', '--check']);
    expect(listed.code, listed.stderr).to.equal(0);
    expect(listed.stdout).to.match(/^SEQ +UPTO +STREAMS +EVENTS +ROOT +CHECK/);
    expect(listed.stdout).to.match(/\n1 .* 2 +3 +\S{43} +OK\n/);
  });

  it('prints a proof that verify-proof accepts with the JWKS alone, and refuses a changed one', async () => {
    const proved = await run(['audit', 'prove', '--sid', sid]);
    expect(proved.code, proved.stderr).to.equal(0);
    const file = join(dir.path, 'proof.json');
    await writeFile(file, proved.stdout);
    // No --uri and no MONGODB_URI: the check needs no database.
    const ok = await cli(['audit', 'verify-proof', file, '--jwks', jwksFile]);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^OK: 2 events of session /);
    const proof = JSON.parse(proved.stdout) as { events: { meta: object }[] };
    proof.events[0]!.meta = { ip: '203.0.113.200' };
    await writeFile(file, JSON.stringify(proof));
    const bad = await cli(['audit', 'verify-proof', file, '--jwks', jwksFile]);
    expect(bad.code).to.equal(1);
    expect(bad.stdout).to.match(/altered[\s\S]*NOT VERIFIED/);
  });

  it('shows personal fields as audit history --json does with the subject secret, or --sealed', async () => {
    const withSecret = cliOn(testServerUri(), t.db.databaseName, {
      JWTCONNECT_SUBJECT_SECRET: SUBJECT_SECRET,
    });
    const [proved, history, sealed] = await Promise.all([
      withSecret(['audit', 'prove', '--sid', sid]),
      withSecret(['audit', 'history', '--sid', sid, '--json']),
      withSecret(['audit', 'prove', '--sid', sid, '--sealed']),
    ]);
    expect(proved.code, proved.stderr).to.equal(0);
    const proof = JSON.parse(proved.stdout) as { events: Record<string, unknown>[] };
    expect(proof.events.map(({ ciphertext: _c, ...view }) => view)).to.deep.equal(
      JSON.parse(history.stdout),
    );
    expect(proof.events[0]).to.deep.include({
      personal: 'decrypted',
      claims: { username: 'alice', given_name: 'Alice', email: 'alice@example.org' },
    });
    const file = join(dir.path, 'proof-revealed.json');
    await writeFile(file, proved.stdout);
    const ok = await cli(['audit', 'verify-proof', file, '--jwks', jwksFile]);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(
      /\nnote: 1 event shows personal fields in clear; the signature covers their ciphertext, not the clear text\n$/,
    );

    expect(sealed.code, sealed.stderr).to.equal(0);
    expect(sealed.stdout).to.not.include('alice@example.org').and.not.include('"ciphertext"');
    await writeFile(file, sealed.stdout);
    const sealedOk = await cli(['audit', 'verify-proof', file, '--jwks', jwksFile]);
    expect(sealedOk.code, sealedOk.stdout + sealedOk.stderr).to.equal(0);
    expect(sealedOk.stdout).to.not.include('note:');
  });

  it('archives ended sessions to a file that verify --archive accepts, and refuses it cut short', async () => {
    const out = join(dir.path, 'ledger.ndjson.gz');
    const archive = ['audit', 'archive', '--before', '2026-06-01', '--out', out, ...signing];
    // Both sessions hold user claims under live data keys: they stay, and the run says why.
    const left = await run(archive);
    expect(left.code, left.stderr).to.equal(0);
    expect(left.stdout).to.match(/^no session to archive ended before that date\n/);
    expect(left.stdout).to.match(
      /left in the store: 2 ended sessions .*personalData\.retentionDays/,
    );
    expect(left.stdout).to.include('`subject erase`');
    // Erasure destroys the keys; its revocation is one event in each subject's own stream.
    await p.auth.erase(ALICE);
    await p.auth.erase(BOB);
    const archived = await run(archive);
    expect(archived.code, archived.stderr).to.equal(0);
    expect(archived.stdout).to.match(/^archive \S+: 2 sessions, 3 events -> /);
    expect(archived.stdout).to.not.include('left in the store');
    const verified = await cli(['audit', 'verify', '--archive', out, '--jwks', jwksFile]);
    expect(verified.code, verified.stdout + verified.stderr).to.equal(0);
    expect(verified.stdout).to.match(/: 2 sessions, 3 events: OK/);
    const bytes = await readFile(out);
    await writeFile(out, bytes.subarray(0, bytes.length - 16));
    const cut = await cli(['audit', 'verify', '--archive', out, '--jwks', jwksFile]);
    expect(cut.code).to.equal(1);
    expect(cut.stdout).to.match(/NOT VERIFIED/);
    const history = await run(['audit', 'history', '--sid', sid]);
    expect(history.code).to.equal(0);
    expect(history.stderr).to.match(new RegExp(`session ${sid} is in archive \\S+`));
  });

  it('refuses to sign without a key, naming the option', async () => {
    const refused = await run(['audit', 'checkpoint', '--issuer', TEST_ISSUER]);
    expect(refused.code).to.equal(2);
    expect(refused.stderr).to.include('--key <file> is required');
  });
});
