/**
 * What each operation costs on MongoDB, in commands and sequential round trips, counted with the
 * driver's command monitoring (`monitorCommands`). Counts are what any MongoDB-compatible server
 * answers the same way, unlike times: counted on the bench's FerretDB, they hold on MongoDB.
 *
 * One measurement for both users: `spec/ledger/command-counts.spec.ts` holds every operation to
 * its budget (and docs/performance.md's table to the counts), and `bench/run.ts` writes the same
 * counts into bench/results/latest.json and latest.md.
 */
import { MongoClient, type CommandStartedEvent, type Db } from 'mongodb';
import { ledgerOf } from '../lib/internals.js';
import type { JwtConnect } from '../lib/jwtconnect.js';
import { postForm, startApp } from '../spec/support/http.js';
import { ADMIN, ALICE, BOB, testPlugin } from '../spec/support/plugin.js';

/** One command as sent: its name, collection, and each filter and sort it carries. */
export interface RecordedCommand {
  name: string;
  collection: string;
  /** One entry per statement (a `delete` or `update` may carry several). */
  queries: { filter: Record<string, unknown>; sort?: Record<string, number> }[];
}

export interface Measured {
  commands: RecordedCommand[];
  roundTrips: number;
}

/** Handshake and topology chatter, not the store's work. */
const IGNORED = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo']);

/**
 * Records the commands a client sends to one database: their names, filters and sorts, and how
 * many sequential round trips they took (commands that overlap in time share one round trip).
 */
export class CommandRecorder {
  readonly client: MongoClient;
  readonly db: Db;
  /** Every command since the recorder opened (for the index coverage check). */
  readonly all: RecordedCommand[] = [];
  #current: RecordedCommand[] | undefined;
  readonly #inFlight = new Set<number>();
  #roundTrips = 0;

  private constructor(client: MongoClient, name: string) {
    this.client = client;
    this.db = client.db(name);
    client.on('commandStarted', (event) => this.#started(event));
    const done = (event: { requestId: number }) => {
      this.#inFlight.delete(event.requestId);
    };
    client.on('commandSucceeded', done);
    client.on('commandFailed', done);
  }

  /** A recorder on database `name` of the server at `uri`. */
  static async open(uri: string, name: string): Promise<CommandRecorder> {
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: 5000,
      monitorCommands: true,
      // A warm pool, as a serving instance has: commands sent together then go out together,
      // instead of one waiting for a new connection while the other completes (which would
      // count as two round trips).
      minPoolSize: 4,
    });
    await client.connect();
    return new CommandRecorder(client, name);
  }

  /** The commands `action` sends, and the sequential round trips they take. */
  async measure(action: () => Promise<unknown>): Promise<Measured> {
    this.#current = [];
    this.#roundTrips = 0;
    try {
      await action();
      return { commands: this.#current, roundTrips: this.#roundTrips };
    } finally {
      this.#current = undefined;
    }
  }

  /** Drops the database and closes the client. */
  async dispose(): Promise<void> {
    await this.db.dropDatabase();
    await this.client.close();
  }

  #started(event: CommandStartedEvent): void {
    if (IGNORED.has(event.commandName) || event.databaseName !== this.db.databaseName) return;
    // A command that starts while none is in flight starts a new sequential round trip.
    if (this.#inFlight.size === 0) this.#roundTrips += 1;
    this.#inFlight.add(event.requestId);
    const recorded = describeCommand(event);
    this.all.push(recorded);
    this.#current?.push(recorded);
  }
}

function describeCommand(event: CommandStartedEvent): RecordedCommand {
  const command = event.command as Record<string, unknown>;
  const name = event.commandName;
  const collection = String(command[name]);
  const queries: RecordedCommand['queries'] = [];
  const filterOf = (value: unknown) => (value ?? {}) as Record<string, unknown>;
  if (name === 'find') {
    // The driver sends a sort as an ordered Map.
    const raw = command['sort'] as Map<string, number> | Record<string, number> | undefined;
    const sort = raw instanceof Map ? Object.fromEntries(raw) : raw;
    queries.push({ filter: filterOf(command['filter']), ...(sort && { sort }) });
  } else if (name === 'delete' || name === 'update') {
    const key = name === 'delete' ? 'deletes' : 'updates';
    for (const statement of command[key] as { q: unknown }[]) {
      queries.push({ filter: filterOf(statement.q) });
    }
  } else if (name === 'aggregate') {
    const pipeline = command['pipeline'] as Record<string, unknown>[];
    const match = pipeline.find((stage) => '$match' in stage);
    queries.push({ filter: filterOf(match?.['$match']) });
  } else if (name === 'count' || name === 'distinct') {
    queries.push({ filter: filterOf(command['query']) });
  }
  return { name, collection, queries };
}

/** A budget: at most `max` commands, or sequential round trips. */
export interface Budget {
  max: number;
  of: 'commands' | 'round trips';
}

/** An operation counted, in the order of the table. */
export interface CountedOperation {
  id: OperationId;
  /** As the table names it. */
  label: string;
  budget: Budget;
  /** The bench's HTTP scenario (ours on MongoDB, default options) that does this operation. */
  scenario?: string;
}

/**
 * The budgets, and why they are what they are. An append is a state read, the pending mark, the
 * event insert and the snapshot save (its cleanup in flight with it): 4 round trips, 3 for a
 * login's new session, whose state need not be read.
 */
export const OPERATIONS = [
  // The session and its subject's cut-off in one query.
  {
    id: 'bearer',
    label: 'Bearer check (`authenticate()`, `tokens.verify`)',
    budget: { max: 1, of: 'commands' },
    scenario: 'authenticate',
  },
  {
    id: 'issue',
    label: 'issue (login hook)',
    budget: { max: 3, of: 'round trips' },
    scenario: 'issue',
  },
  {
    id: 'refresh',
    label: 'refresh (the state load included)',
    budget: { max: 4, of: 'round trips' },
    scenario: 'refresh',
  },
  // Once it holds the subject's data key for the month (one more round trip the first time).
  {
    id: 'refresh-elsewhere',
    label: 'refresh on an instance that did not issue it',
    budget: { max: 4, of: 'round trips' },
  },
  // The caller's check, then the token's session with its subject.
  {
    id: 'introspection-token',
    label: 'introspection route by `token` (caller check + 1)',
    budget: { max: 2, of: 'commands' },
    scenario: 'introspection',
  },
  // The caller's check finds the token's session in the same query.
  {
    id: 'introspection-jti',
    label: 'introspection route by `jti` (caller check + 1)',
    budget: { max: 2, of: 'commands' },
  },
  // Which session holds the token (one query), then an append decided on its latest state.
  { id: 'revoke-jti', label: 'revoke `{ jti }`', budget: { max: 5, of: 'round trips' } },
  // An append.
  { id: 'revoke-sid', label: 'revoke `{ sid }`', budget: { max: 4, of: 'round trips' } },
  // The subject's open sessions (the cut-off reaches their latest start), then an append.
  { id: 'revoke-sub', label: 'revoke `{ sub }`', budget: { max: 5, of: 'round trips' } },
  // The events (and archived sessions, in flight together), then their data keys.
  {
    id: 'history',
    label: 'audit history page (events, then their data keys)',
    budget: { max: 2, of: 'round trips' },
  },
  // The read that finds the mark, the state and the missing events, the snapshot save.
  {
    id: 'catch-up',
    label: 'a read that completes a projection behind the log',
    budget: { max: 4, of: 'round trips' },
  },
] as const satisfies readonly (Omit<CountedOperation, 'id'> & { id: string })[];

export type OperationId = (typeof OPERATIONS)[number]['id'];

/** What one operation sent. */
export interface CountRow {
  id: OperationId;
  label: string;
  commands: number;
  round_trips: number;
  budget: Budget;
  met: boolean;
  /** Each command as `name collection`, in the order sent. */
  sent: string[];
  scenario?: string;
}

export function withinBudget(budget: Budget, measured: Measured): boolean {
  const spent = budget.of === 'commands' ? measured.commands.length : measured.roundTrips;
  return spent <= budget.max;
}

/** Throws unless `condition`: a count of an operation that did not do its job means nothing. */
function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`command counts: ${what}`);
}

const jtiOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { jti: string })
    .jti;

/**
 * Does each operation once on the recorder's database, with plugin instances of the default
 * options, and returns what each sent (`OPERATIONS` order). Each answer is checked: a refusal
 * costs less than the work, and would be counted as a bargain.
 */
export async function countOperations(recorder: CommandRecorder): Promise<CountRow[]> {
  const measured = new Map<OperationId, Measured>();
  const measure = async <T>(id: OperationId, action: () => Promise<T>): Promise<T> => {
    let result: T | undefined;
    measured.set(
      id,
      await recorder.measure(async () => {
        result = await action();
      }),
    );
    return result as T;
  };
  const { auth } = await testPlugin(recorder.db);
  const app = await startApp(auth);
  const others: JwtConnect[] = [];
  try {
    const tokens = await auth.issue(ALICE, { source: 'bench' });
    const verified = await measure('bearer', () => auth.tokens.verify(tokens.access_token));
    check(verified.claims.jti === jtiOf(tokens.access_token), 'the Bearer check failed');

    const issued = await measure('issue', () => auth.issue(ALICE, { source: 'bench' }));
    const refreshed = await measure('refresh', () => auth.refresh(issued.refresh_token));
    check(typeof refreshed.refresh_token === 'string', 'the refresh failed');

    const other = (await testPlugin(recorder.db)).auth;
    others.push(other);
    const carol = { id: 'u-carol', username: 'carol' };
    // The other instance's first refresh of carol's fetches her data key; the counted one reuses it.
    await other.refresh((await auth.issue(carol, { source: 'bench' })).refresh_token);
    const first = await auth.issue(carol, { source: 'bench' });
    await measure('refresh-elsewhere', () => other.refresh(first.refresh_token));

    const caller = await auth.issue(ADMIN, { source: 'bench', scope: 'introspection' });
    const target = await auth.issue(ALICE, { source: 'bench' });
    const bearer = { authorization: `Bearer ${caller.access_token}` };
    const url = `${app.url}/token/introspection`;
    for (const [id, params] of [
      ['introspection-token', { token: target.access_token }],
      ['introspection-jti', { jti: jtiOf(target.access_token) }],
    ] as const) {
      const reply = await measure(id, () => postForm(url, params, bearer));
      check(reply.body['active'] === true, `${id} did not find the token active`);
    }

    const doomed = await auth.issue(ALICE, { source: 'bench' });
    const { sid, sub, jti } = (await auth.tokens.verify(doomed.access_token)).claims;
    const revocations = [
      await measure('revoke-jti', () => auth.revoke({ jti })),
      await measure('revoke-sid', () => auth.revoke({ sid })),
      await measure('revoke-sub', () => auth.revoke({ sub })),
    ];
    check(
      revocations.every((result) => result.revoked),
      'a revocation recorded nothing',
    );

    const page = await measure('history', () => auth.audit.history({ sub, limit: 20 }));
    check(page.events.length > 0, 'the history page is empty');

    const lagging = (await testPlugin(recorder.db)).auth;
    others.push(lagging);
    const bob = await lagging.issue(BOB, { source: 'bench' });
    const bobs = (await lagging.tokens.verify(bob.access_token)).claims;
    await lagging.refresh(bob.refresh_token);
    // The refresh's projection write lost: its snapshot gone, its pending mark left behind.
    const ledger = ledgerOf(lagging);
    const [latest] = await ledger.store.loadStates([bobs.sid]);
    check(latest !== undefined, 'no state to set behind');
    await recorder.db
      .collection('jwtconnect_state')
      .deleteMany({ stream: bobs.sid, seq: latest.seq });
    await ledger.store.markPending(bobs.sid, latest.seq);
    const read = await measure('catch-up', () => ledger.loadSession(bobs.sid, bobs.sub));
    check(read.session?.seq === latest.seq, 'the read did not complete the projection');
  } finally {
    await app.close();
    for (const instance of [auth, ...others]) await instance.close();
  }
  return OPERATIONS.map((operation) => {
    const m = measured.get(operation.id);
    if (!m) throw new Error(`command counts: ${operation.id} was not measured`);
    return {
      id: operation.id,
      label: operation.label,
      commands: m.commands.length,
      round_trips: m.roundTrips,
      budget: operation.budget,
      met: withinBudget(operation.budget, m),
      sent: m.commands.map((c) => `${c.name} ${c.collection}`),
      ...('scenario' in operation && { scenario: operation.scenario }),
    };
  });
}

/** `1 command`, `4 round trips`. */
export function budgetText(budget: Budget): string {
  return `${budget.max} ${budget.max === 1 ? budget.of.replace(/s$/, '') : budget.of}`;
}

/** The counts as a Markdown table (bench/results/latest.md; docs/performance.md has it too). */
export function countsTable(rows: readonly CountRow[]): string[] {
  return [
    '| operation | commands | sequential round trips | budget | met |',
    '|---|--:|--:|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.label} | ${row.commands} | ${row.round_trips} | ${budgetText(row.budget)} | ${row.met ? 'yes' : 'no'} |`,
    ),
  ];
}
