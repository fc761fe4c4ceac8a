/**
 * `audit history`: a subject's, session's or token's events, oldest first, through every page of
 * the ledger's `history()`; an aligned table by default, JSON for scripts.
 */
import { Option, type Command } from 'commander';
import {
  EVENT_TYPES,
  history,
  isSubjectStream,
  Ledger,
  MAX_PAGE_SIZE,
  type AuditEvent,
  type HistoryQuery,
  type LedgerStore,
} from '../ledger/index.js';
import { withStore, type ConnectionOptions } from './connection.js';
import { CliError } from './errors.js';
import type { CliContext } from './context.js';
import { parseIsoDate, parsePositiveInteger } from './parse.js';
import { personalDataFrom } from './personal-data.js';
import { SUBJECT_SECRET_VARIABLE, subjectOfUser } from './subject.js';
import { formatTable, shorten } from './table.js';

interface HistoryOptions extends ConnectionOptions {
  sub?: string;
  user?: string;
  sid?: string;
  jti?: string;
  type?: HistoryQuery['type'];
  from?: Date;
  to?: Date;
  limit?: number;
  pageSize: number;
  json?: boolean;
  jsonl?: boolean;
}

/**
 * Every matching event, page after page, up to `limit` in all; personal fields decrypted when the
 * environment holds the subject secret (see personal-data.ts), else marked `unavailable`.
 */
export async function* allEvents(
  store: LedgerStore,
  query: Omit<HistoryQuery, 'cursor' | 'limit'>,
  limit = Infinity,
  pageSize = MAX_PAGE_SIZE,
  env: NodeJS.ProcessEnv = {},
): AsyncIterable<AuditEvent[]> {
  const personalData = personalDataFrom(env, store);
  const ledger = new Ledger({ store, ...(personalData && { personalData }) });
  let cursor: string | undefined;
  let remaining = limit;
  while (remaining > 0) {
    const size = Math.min(remaining, pageSize);
    const page = await history(ledger, { ...query, limit: size, ...(cursor && { cursor }) });
    yield page.events;
    remaining -= page.events.length;
    if (page.nextCursor === null) return;
    cursor = page.nextCursor;
  }
}

const HEADERS = ['TIME', 'TYPE', 'STREAM', 'SEQ', 'SUB', 'JTIS', 'SOURCE', 'IP', 'ACTOR', 'REASON'];

function row(event: AuditEvent): string[] {
  const stream = isSubjectStream(event.stream)
    ? `subject:${shorten(event.stream.slice('subject:'.length))}`
    : event.stream;
  const type = event.type === 'revoked' ? `revoked (${event.target.kind})` : event.type;
  return [
    event.time.toISOString(),
    type,
    stream,
    String(event.seq),
    shorten(event.sub),
    event.jtis.join(',') || '-',
    event.meta.source ?? '-',
    event.meta.ip ??
      (event.personal && event.personal !== 'decrypted' ? `(${event.personal})` : '-'),
    event.meta.actor ?? '-',
    event.meta.reason ?? '-',
  ];
}

async function run(options: HistoryOptions, context: CliContext): Promise<void> {
  const chosen = [options.sub, options.user, options.sid, options.jti].filter(
    (value) => value !== undefined,
  );
  if (chosen.length !== 1) {
    throw new CliError('audit history needs one of --sub, --user, --sid or --jti');
  }
  const sub = options.user !== undefined ? subjectOfUser(options.user, context.env) : options.sub;
  const query: Omit<HistoryQuery, 'cursor' | 'limit'> = {
    ...(sub !== undefined && { sub }),
    ...(options.sid !== undefined && { sid: options.sid }),
    ...(options.jti !== undefined && { jti: options.jti }),
    ...(options.type !== undefined && { type: options.type }),
    ...(options.from !== undefined && { from: options.from }),
    ...(options.to !== undefined && { to: options.to }),
  };
  await withStore(options, context.env, 'read', async (store) => {
    const rows: string[][] = [];
    const events: AuditEvent[] = [];
    const pages = allEvents(store, query, options.limit, options.pageSize, context.env);
    for await (const page of pages) {
      if (options.jsonl) for (const event of page) context.out(JSON.stringify(event));
      else if (options.json) events.push(...page);
      else rows.push(...page.map(row));
    }
    if (options.json) context.out(JSON.stringify(events, null, 2));
    else if (!options.jsonl) {
      for (const line of formatTable(HEADERS, rows)) context.out(line);
      context.err(`${rows.length} event${rows.length === 1 ? '' : 's'}`);
    }
  });
}

export function registerHistory(audit: Command, context: CliContext): void {
  audit
    .command('history')
    .summary('list the events of a subject, session or token')
    .description(
      'List the issued, refreshed, revoked and erased events of one subject (--sub, or --user ' +
        `with the subject secret in $${SUBJECT_SECRET_VARIABLE}), session (--sid) or token ` +
        '(--jti), oldest first, as a table or as JSON. Personal fields (IP, user agent, claims) ' +
        'are decrypted with that secret; without it, or once erased or expired, they read as such.',
    )
    .addOption(
      new Option('--sub <sub>', 'the subject: the opaque "sub" claim').conflicts([
        'user',
        'sid',
        'jti',
      ]),
    )
    .addOption(
      new Option(
        '--user <id>',
        `the subject of your app's user id (needs $${SUBJECT_SECRET_VARIABLE}, the plugin's subjectSecret)`,
      ).conflicts(['sid', 'jti']),
    )
    .addOption(new Option('--sid <sid>', 'one session (the "sid" claim)').conflicts('jti'))
    .option('--jti <jti>', 'one token (its "jti" claim): the events that concern it')
    .addOption(new Option('--type <type>', 'only events of this type').choices(EVENT_TYPES))
    .option('--from <iso>', 'only events at or after this time (ISO 8601)', parseIsoDate)
    .option('--to <iso>', 'only events before this time (ISO 8601)', parseIsoDate)
    .option('--limit <n>', 'print at most n events', parsePositiveInteger)
    .addOption(
      // Hidden: the history() page size, so tests can walk several pages of a short history.
      new Option('--page-size <n>')
        .argParser(parsePositiveInteger)
        .default(MAX_PAGE_SIZE)
        .hideHelp(),
    )
    .addOption(new Option('--json', 'print a JSON array of the events').conflicts('jsonl'))
    .option('--jsonl', 'print one JSON event per line (streams large histories)')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ koa-jwtconnect audit history --sid 3q2-7wEjRJm8mZ0wq1Y8dA',
        '  $ koa-jwtconnect audit history --sub <sub> --type revoked --from 2026-01-01',
        `  $ ${SUBJECT_SECRET_VARIABLE}=... koa-jwtconnect audit history --user 1234`,
        '  $ koa-jwtconnect audit history --jti <jti> --json | jq .',
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      run(command.optsWithGlobals<HistoryOptions>(), context),
    );
}
