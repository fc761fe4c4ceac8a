/**
 * What each operation costs on MongoDB, counted in commands and sequential round trips (the
 * driver's command monitoring, bench/command-counts.ts). Counts are the same on any
 * MongoDB-compatible server, so these budgets hold on MongoDB although the run may use FerretDB.
 * `COMMAND_COUNTS=1` prints the table; docs/performance.md must show the same numbers.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import {
  budgetText,
  countOperations,
  countsTable,
  type CountRow,
  type OperationId,
} from '../../bench/command-counts.js';
import { openRecorder, type CommandRecorder } from '../support/command-recorder.js';
import { unservedCommands } from '../support/suite-queries.js';
import { tempDir } from '../support/keys.js';
import { ALICE, testPlugin } from '../support/plugin.js';

describe('MongoDB command counts per operation', () => {
  let recorder: CommandRecorder;
  let rows: CountRow[];
  const row = (id: OperationId) => rows.find((candidate) => candidate.id === id) as CountRow;

  before(async () => {
    recorder = await openRecorder('counts');
    rows = await countOperations(recorder);
    if (process.env['COMMAND_COUNTS']) {
      for (const line of countsTable(rows)) process.stdout.write(`${line}\n`);
      for (const { label, sent } of rows) process.stdout.write(`${label}: ${sent.join(', ')}\n`);
    }
  });
  after(() => recorder.dispose());

  it('checks a Bearer token with one command', () => {
    expect(row('bearer').commands).to.equal(1);
  });

  it('issues a session in at most 3 sequential round trips', () => {
    expect(row('issue').round_trips).to.be.at.most(3);
  });

  it('refreshes in at most 4 sequential round trips, the state load included', () => {
    expect(row('refresh').round_trips).to.be.at.most(4);
  });

  it('refreshes on another instance in at most 4 round trips once it holds the data key', () => {
    expect(row('refresh-elsewhere').round_trips).to.be.at.most(4);
  });

  it('introspects a token with 2 commands, the caller’s Bearer check included', () => {
    expect(row('introspection-token').commands).to.be.at.most(2);
  });

  it('introspects by jti in at most 2 commands, the caller’s Bearer check included', () => {
    expect(row('introspection-jti').commands).to.be.at.most(2);
  });

  it('revokes a token in at most 5 round trips, a session in 4 and a subject in 5', () => {
    expect(row('revoke-jti').round_trips).to.be.at.most(5);
    expect(row('revoke-sid').round_trips).to.be.at.most(4);
    expect(row('revoke-sub').round_trips).to.be.at.most(5);
  });

  it('reads a history page in two round trips: its events (and archived sessions), then their data keys', () => {
    expect(row('history').sent.map((sent) => sent.split(' ')[1])).to.have.members([
      'jwtconnect_archived',
      'jwtconnect_events',
      'jwtconnect_data_keys',
    ]);
    expect(row('history').round_trips).to.be.at.most(2);
  });

  it('completes a projection the log is ahead of in at most 4 round trips', () => {
    expect(row('catch-up').round_trips).to.be.at.most(4);
  });

  it('meets every budget the bench report states', () => {
    const over = rows.filter((candidate) => !candidate.met);
    expect(over.map(({ label, commands, round_trips }) => ({ label, commands, round_trips }))).to.be
      .empty;
  });

  it('shows in docs/performance.md the counts measured here', async () => {
    const doc = await readFile(new URL('../../docs/performance.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## MongoDB cost in commands'));
    const lines = section.split('\n');
    const start = lines.findIndex((line) => line.startsWith('|'));
    const end = lines.findIndex((line, i) => i > start && !line.startsWith('|'));
    // The section's first table, without its header and rule.
    const documented = lines.slice(start + 2, end).map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
    const measured = rows.map((r) => [
      r.label,
      String(r.commands),
      String(r.round_trips),
      budgetText(r.budget),
    ]);
    expect(documented.map((cells) => cells.slice(0, 4))).to.deep.equal(measured);
  });

  it('archives with one query per 500 sessions for their first events, their ciphertexts and their data keys', async () => {
    const dir = await tempDir();
    const plugin = await testPlugin(recorder.db);
    try {
      const plain = await plugin.auth.issue({ id: 'u-counts-plain' }, { source: 'test' });
      const held = await plugin.auth.issue({ ...ALICE, id: 'u-counts-held' }, { source: 'test' });
      for (const pair of [plain, held]) {
        await plugin.auth.revoke({ sid: decodeJwt(pair.access_token)['sid'] as string });
      }
      // Past the checkpoint's settle time: the revocations are in the tree it signs.
      plugin.clock.advance(60_000);
      const out = join(dir.path, 'counts.ndjson.gz');
      let result: { streams: number; leftForKeys: number } | undefined;
      const m = await recorder.measure(async () => {
        result = await plugin.auth.audit.archive({ before: new Date(plugin.clock()), out });
      });
      expect(result?.streams).to.be.at.least(1);
      expect(result?.leftForKeys).to.be.at.least(1);
      const count = (name: string, collection: string) =>
        m.commands.filter((c) => c.name === name && c.collection === collection).length;
      expect(count('find', 'jwtconnect_data_keys')).to.equal(1);
      expect(count('delete', 'jwtconnect_events')).to.equal(1);
      expect(count('delete', 'jwtconnect_state')).to.equal(1);
    } finally {
      await plugin.auth.close();
      await dir.dispose();
    }
  });

  it('sends only queries a declared index serves', async () => {
    if (process.env['COMMAND_COUNTS'] === 'queries') {
      for (const c of recorder.all)
        process.stdout.write(`${c.name} ${c.collection} ${JSON.stringify(c.queries)}\n`);
    }
    expect(unservedCommands(recorder.all)).to.deep.equal([]);
  });
});
