import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Context } from 'koa';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { ALICE, BOB, SUBJECT_SECRET, testPlugin, type TestPlugin } from '../support/plugin.js';
import { cli, cliOn, type CliRun } from './run.js';

/** A request as far as the audit log looks at it (IP and user agent). */
const request = { ip: '203.0.113.7', get: () => 'cli-spec' } as unknown as Context;

interface Seeded {
  t: TestDatabase;
  p: TestPlugin;
  run: (args: readonly string[]) => Promise<CliRun>;
  /** issued, refreshed, revoked (session) */
  revokedSid: string;
  /** issued, refreshed */
  openSid: string;
}

/** A database with two sessions written by the plugin itself. */
async function seed(label: string): Promise<Seeded> {
  const t = await openTestDatabase(label);
  const p = await testPlugin(t.db);
  const first = await p.auth.issue(ALICE, {
    source: 'saml',
    method: 'idp.example.org',
    ctx: request,
  });
  p.clock.advance(60_000);
  await p.auth.refresh(first.refresh_token, request);
  p.clock.advance(60_000);
  const revokedSid = decodeJwt(first.access_token)['sid'] as string;
  await p.auth.revoke({ sid: revokedSid }, { reason: 'logout', actor: 'alice', ctx: request });
  const second = await p.auth.issue(BOB, { source: 'password' });
  p.clock.advance(60_000);
  await p.auth.refresh(second.refresh_token);
  const openSid = decodeJwt(second.access_token)['sid'] as string;
  // With the subject secret the CLI decrypts IPs, user agents and claims, as history() does.
  const run = cliOn(testServerUri(), t.db.databaseName, {
    JWTCONNECT_SUBJECT_SECRET: SUBJECT_SECRET,
  });
  return { t, p, run, revokedSid, openSid };
}

async function dispose(seeded: Seeded | undefined): Promise<void> {
  await seeded?.p.auth.close();
  await seeded?.t.dispose();
}

/** Table rows as cells; columns are separated by at least two spaces. */
function tableRows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/));
}

describe('koa-jwtconnect audit history [real binary, MongoDB]', () => {
  let s: Seeded;
  before(async () => {
    s = await seed('cli_history');
  });
  after(() => dispose(s));

  it("prints a session's events in order as an aligned table", async () => {
    const { code, stdout } = await s.run(['audit', 'history', '--sid', s.revokedSid]);
    expect(code).to.equal(0);
    const [header, ...rows] = tableRows(stdout);
    expect(header).to.deep.equal([
      'TIME',
      'TYPE',
      'STREAM',
      'SEQ',
      'SUB',
      'JTIS',
      'SOURCE',
      'IP',
      'ACTOR',
      'REASON',
    ]);
    expect(rows.map((r) => [r[1], r[2], r[3]])).to.deep.equal([
      ['issued', s.revokedSid, '1'],
      ['refreshed', s.revokedSid, '2'],
      ['revoked (session)', s.revokedSid, '3'],
    ]);
    expect(rows[0]![0]).to.equal('2026-01-15T12:00:00.000Z');
    expect(rows[0]![6]).to.equal('saml');
    expect(rows.map((r) => r[7])).to.deep.equal(['203.0.113.7', '203.0.113.7', '203.0.113.7']);
    expect(rows[2]!.slice(8)).to.deep.equal(['alice', 'logout']);
    // Columns line up: every row starts its SUB cell where the header's SUB starts.
    const lines = stdout.split('\n');
    const column = lines[0]!.indexOf('SUB');
    for (const line of lines.slice(1, 4)) expect(line[column - 1]).to.equal(' ');
  });

  it('prints with --json exactly what history() returns, across several pages', async () => {
    const { code, stdout } = await s.run([
      'audit',
      'history',
      '--sid',
      s.revokedSid,
      '--json',
      '--page-size',
      '2',
    ]);
    expect(code).to.equal(0);
    const page = await s.p.auth.audit.history({ sid: s.revokedSid });
    expect(page.events).to.have.length(3);
    expect(JSON.parse(stdout)).to.deep.equal(JSON.parse(JSON.stringify(page.events)));
  });

  it('filters a subject by type and stops at --limit [--jsonl]', async () => {
    const sub = s.p.auth.subjectOf(BOB);
    const { code, stdout } = await s.run([
      'audit',
      'history',
      '--sub',
      sub,
      '--type',
      'refreshed',
      '--limit',
      '1',
      '--jsonl',
    ]);
    expect(code).to.equal(0);
    const events = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as LedgerEvent);
    expect(events.map((e) => [e.type, e.stream, e.sub])).to.deep.equal([
      ['refreshed', s.openSid, sub],
    ]);
  });
});

describe('koa-jwtconnect audit history --user [real binary, MongoDB]', () => {
  let s: Seeded;
  before(async () => {
    s = await seed('cli_history_user');
  });
  after(() => dispose(s));

  const runAs = (args: readonly string[], secret?: string) =>
    cli(['--db', s.t.db.databaseName, 'audit', 'history', ...args], {
      MONGODB_URI: testServerUri(),
      JWTCONNECT_SUBJECT_SECRET: secret,
    });

  it("lists a user's events by the app's user id, with the subject secret from the environment", async () => {
    const { code, stdout } = await runAs(['--user', ALICE.id, '--json'], SUBJECT_SECRET);
    expect(code).to.equal(0);
    const events = JSON.parse(stdout) as LedgerEvent[];
    expect(events.map((e) => [e.type, e.stream])).to.deep.equal([
      ['issued', s.revokedSid],
      ['refreshed', s.revokedSid],
      ['revoked', s.revokedSid],
    ]);
    expect(events.every((e) => e.sub === s.p.auth.subjectOf(ALICE))).to.equal(true);
  });

  it('exits 2 without the subject secret, and with --user beside --sub', async () => {
    const missing = await runAs(['--user', ALICE.id]);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('JWTCONNECT_SUBJECT_SECRET').and.not.include('at ');
    const both = await runAs(['--user', ALICE.id, '--sub', 'x'], SUBJECT_SECRET);
    expect(both.code).to.equal(2);
    expect(both.stderr).to.match(/--sub.*cannot be used with.*--user/);
  });
});

describe('koa-jwtconnect audit verify [real binary, MongoDB]', () => {
  let s: Seeded;
  before(async () => {
    s = await seed('cli_verify');
  });
  after(() => dispose(s));

  it('exits 0 with a summary on a clean ledger', async () => {
    const { code, stdout } = await s.run(['audit', 'verify']);
    expect(stdout).to.equal('2 streams, 5 events: OK\n');
    expect(code).to.equal(0);
  });

  it('exits 1 naming stream and seq of an edited middle event and a deleted last event', async () => {
    const events = s.t.db.collection('jwtconnect_events');
    await events.updateOne(
      { stream: s.revokedSid, seq: 2 },
      { $set: { 'meta.ip': '198.51.100.1' } },
    );
    await events.deleteOne({ stream: s.openSid, seq: 2 });
    const { code, stdout } = await s.run(['audit', 'verify']);
    expect(code).to.equal(1);
    const lines = stdout.trimEnd().split('\n');
    expect(lines).to.include.members([
      `stream ${s.revokedSid} seq 2: altered (hash does not match content)`,
      `stream ${s.openSid} seq 2: missing_tail (projection is at seq 2, log ends at 1)`,
    ]);
    expect(lines.at(-1)).to.equal('2 streams, 4 events: 2 problems');
  });
});

describe('koa-jwtconnect projection rebuild [real binary, MongoDB]', () => {
  let s: Seeded;
  before(async () => {
    s = await seed('cli_rebuild');
  });
  after(() => dispose(s));

  it('reports no differences on a clean ledger [--dry-run]', async () => {
    const { code, stdout, stderr } = await s.run(['projection', 'rebuild', '--dry-run']);
    expect(code).to.equal(0);
    expect(stdout).to.match(
      /^2 streams, 5 events in \d+\.\d\d s \(\d+ events\/s\): the projection matches the log\n$/,
    );
    // Not a terminal: cli-progress writes plain lines, with the events/s payload.
    expect(stderr).to.match(/comparing: 5\/5 events \(100%\), 2 streams, \d+ events\/s/);
  });

  it('reports corrupted and missing projection documents without writing, then rebuilds them', async () => {
    const state = s.t.db.collection('jwtconnect_state');
    await state.updateOne({ stream: s.revokedSid }, { $set: { refreshExp: 1 } });
    await state.deleteMany({ stream: s.openSid });

    const dry = await s.run(['projection', 'rebuild', '--dry-run', '--no-progress']);
    expect(dry.code).to.equal(1);
    expect(dry.stderr).to.equal('');
    expect(dry.stdout.trimEnd().split('\n').slice(0, -1)).to.have.members([
      `stream ${s.revokedSid}: different (the live state differs from the one folded from the log)`,
      `stream ${s.openSid}: missing (the live projection lacks this stream)`,
    ]);
    expect(dry.stdout).to.match(/: 2 differences, nothing written \(dry run\)\n$/);
    expect(await state.countDocuments({ stream: s.openSid })).to.equal(0);

    const real = await s.run(['projection', 'rebuild']);
    expect(real.code).to.equal(0);
    expect(real.stdout).to.match(
      /^rebuilt the projection: 2 streams, 5 events in \d+\.\d\d s \(\d+ events\/s\)\n$/,
    );
    const after = await s.run(['projection', 'rebuild', '--dry-run', '--no-progress']);
    expect(after.code).to.equal(0);
    expect(after.stdout).to.include('the projection matches the log');
  });
});
