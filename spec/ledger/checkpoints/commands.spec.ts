/**
 * What a checkpoint, a proof and a check cost on MongoDB, in commands (the driver's command
 * monitoring): the stream heads come from one index-ordered cursor read page by page, so memory
 * holds one head per stream and never the log, and every query is served by a declared index.
 */
import { expect } from 'chai';
import { SCAN_BATCH } from '../../../lib/ledger/mongo-documents.js';
import {
  openRecorder,
  type CommandRecorder,
  type Measured,
} from '../../support/command-recorder.js';
import { unservedCommands } from '../../support/suite-queries.js';
import { ALICE, testPlugin, type TestPlugin } from '../../support/plugin.js';
import { newId, sessionEvents, T0 } from '../drafts.js';

/** Streams written straight into the log, two events each: enough to need several pages. */
const BULK_STREAMS = 1250;

describe('checkpoints on MongoDB: commands', () => {
  let recorder: CommandRecorder;
  let plugin: TestPlugin;
  let sid: string;
  let events: number;

  before(async () => {
    recorder = await openRecorder('checkpoints');
    plugin = await testPlugin(recorder.db);
    const tokens = await plugin.auth.issue(ALICE, { source: 'test' });
    sid = (await plugin.auth.tokens.verify(tokens.access_token)).claims.sid;
    // Sealed, chained events of ended logins, as the log holds them; their projection is not
    // needed to checkpoint them.
    const bulk = Array.from({ length: BULK_STREAMS }, (_, i) =>
      sessionEvents(newId('bulk'), `sub-${i % 10}`, T0 - 3_600_000, 1),
    ).flat();
    await recorder.db.collection('jwtconnect_events').insertMany(bulk);
    events = bulk.length + 1;
    plugin.clock.advance(60_000);
  });
  after(async () => {
    await plugin.auth.close();
    await recorder.dispose();
  });

  /** The commands of the heads read: its find on the log and the getMores that page it. */
  function headsRead(measured: Measured) {
    const find = measured.commands.filter(
      (c) => c.name === 'find' && c.collection === 'jwtconnect_events',
    );
    const pages = measured.commands.filter((c) => c.name === 'getMore');
    return { find, pages };
  }

  const pagesFor = (count: number) => Math.ceil(count / SCAN_BATCH) - 1;

  it('makes a checkpoint in one paged pass over the log beside the archived streams, and one insert', async () => {
    const m = await recorder.measure(() => plugin.auth.audit.checkpoint());
    const { find, pages } = headsRead(m);
    expect(find).to.have.length(1);
    expect(find[0]?.queries[0]?.sort).to.deep.equal({ stream: 1, seq: 1 });
    expect(pages).to.have.length(pagesFor(events));
    expect(m.commands.map((c) => `${c.name} ${c.collection}`)).to.include.members([
      'find jwtconnect_checkpoints',
      'find jwtconnect_archived',
      'insert jwtconnect_checkpoints',
    ]);
    // The last checkpoint, the heads with the archived streams beside them, the insert.
    expect(m.commands).to.have.length(1 + 1 + pages.length + 1 + 1);
    expect(m.roundTrips).to.be.at.most(1 + 1 + pages.length + 1);
    const [latest] = await plugin.auth.audit.checkpoints({ after: 0, limit: 1 });
    expect(latest?.claims).to.include({ streams: BULK_STREAMS + 1, events });
  });

  it('proves a session with the same reads, its events and the last checkpoint', async () => {
    const m = await recorder.measure(() => plugin.auth.audit.prove(sid));
    const { find, pages } = headsRead(m);
    // The session's events (by stream and seq), then the heads.
    expect(find).to.have.length(2);
    expect(pages).to.have.length(pagesFor(events));
    // Its events, the last checkpoint, the heads, the archived streams, and the data keys that
    // reveal its personal fields.
    expect(m.commands.filter((c) => c.name !== 'getMore').map((c) => c.collection)).to.have.members(
      [
        'jwtconnect_events',
        'jwtconnect_checkpoints',
        'jwtconnect_events',
        'jwtconnect_archived',
        'jwtconnect_data_keys',
      ],
    );
    expect((await plugin.auth.audit.verifyProof(await plugin.auth.audit.prove(sid))).ok).to.equal(
      true,
    );
  });

  it('checks a checkpoint with the same reads', async () => {
    const m = await recorder.measure(() => plugin.auth.audit.checkCheckpoint());
    expect(headsRead(m).pages).to.have.length(pagesFor(events));
    expect((await plugin.auth.audit.checkCheckpoint()).ok).to.equal(true);
  });

  it('sends only queries a declared index serves', async () => {
    const names = ['jwtconnect_events', 'jwtconnect_checkpoints', 'jwtconnect_archived'];
    const checked = recorder.all.filter((command) => names.includes(command.collection));
    expect(checked.some((c) => c.collection === 'jwtconnect_events')).to.equal(true);
    expect(unservedCommands(checked)).to.deep.equal([]);
  });
});
