/**
 * `audit checkpoint`: signs and stores a checkpoint of the ledger and prints its JWS.
 * `audit checkpoints`: lists the stored ones, optionally recomputing each from the store (exit 1
 * when one no longer matches: the log was changed after it was signed).
 */
import type { Command } from 'commander';
import { systemClock } from '../clock.js';
import { IntegrityError } from '../errors.js';
import { checkCheckpoint, decodeCheckpoint, makeCheckpoint } from '../ledger/index.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { EXIT_PROBLEMS } from './errors.js';
import { parsePositiveInteger } from './parse.js';
import { addSigningOptions, signingKeys, type SigningOptions } from './signing-key.js';
import { formatTable } from './table.js';

async function runCheckpoint(
  options: ConnectionOptions & SigningOptions,
  context: CliContext,
): Promise<void> {
  const { keys, issuer } = await signingKeys(options);
  await withStore(options, context.env, 'write', async (store) => {
    const { checkpoint } = await makeCheckpoint({
      store,
      keys,
      issuer,
      clock: systemClock,
      settleSeconds: options.settle,
    });
    const { seq, claims } = checkpoint;
    context.out(checkpoint.jws);
    context.err(
      `checkpoint ${seq}: ${claims.streams} streams, ${claims.events} events up to ` +
        new Date(claims.upto * 1000).toISOString(),
    );
  });
}

interface ListOptions extends ConnectionOptions {
  after?: number;
  limit: number;
  json?: boolean;
  check?: boolean;
}

async function runList(options: ListOptions, context: CliContext): Promise<void> {
  await withStore(options, context.env, 'read', async (store) => {
    const records = await store.listCheckpoints(options.after ?? 0, options.limit);
    const rows: string[][] = [];
    const listed: unknown[] = [];
    let mismatches = 0;
    for (const record of records) {
      const claims = decodeCheckpoint(record.jws);
      let verdict = '-';
      if (options.check) {
        try {
          const check = await checkCheckpoint(store, record);
          verdict = check.ok ? 'OK' : 'MISMATCH';
          if (!check.ok) mismatches++;
        } catch (error) {
          if (!(error instanceof IntegrityError)) throw error;
          verdict = 'ARCHIVED';
        }
      }
      listed.push({ seq: record.seq, jws: record.jws, claims, ...(options.check && { verdict }) });
      rows.push([
        String(record.seq),
        new Date(claims.upto * 1000).toISOString(),
        String(claims.streams),
        String(claims.events),
        claims.root,
        ...(options.check ? [verdict] : []),
      ]);
    }
    if (options.json) context.out(JSON.stringify(listed, null, 2));
    else {
      const headers = [
        'SEQ',
        'UPTO',
        'STREAMS',
        'EVENTS',
        'ROOT',
        ...(options.check ? ['CHECK'] : []),
      ];
      for (const line of formatTable(headers, rows)) context.out(line);
    }
    if (mismatches > 0) {
      context.err(`${mismatches} checkpoint${mismatches === 1 ? '' : 's'} no longer match the log`);
      context.exitCode = EXIT_PROBLEMS;
    }
  });
}

export function registerCheckpoints(audit: Command, context: CliContext): void {
  addSigningOptions(
    audit
      .command('checkpoint')
      .summary('sign a checkpoint of the ledger and print its JWS')
      .description(
        "Sign a checkpoint of the ledger with the plugin's active key: a compact JWS " +
          "(typ ledger-checkpoint+jwt) over the RFC 6962 Merkle root of every session's last " +
          'event, chained to the previous checkpoint. Stores it and prints the JWS on stdout.',
      ),
  )
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  $ koa-jwtconnect audit checkpoint --key certs/private.key --alg ES256 \\',
        '      --issuer https://auth.example.org',
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      runCheckpoint(command.optsWithGlobals<ConnectionOptions & SigningOptions>(), context),
    );

  audit
    .command('checkpoints')
    .summary('list the stored checkpoints; --check recomputes each')
    .description(
      'List the stored checkpoints, oldest first. With --check each is recomputed from the ' +
        'log and compared with its signed root: exit 1 when one no longer matches (an event ' +
        'was changed, added or removed after it was signed).',
    )
    .option('--after <seq>', 'only checkpoints after this seq', parsePositiveInteger)
    .option('--limit <n>', 'at most n checkpoints', parsePositiveInteger, 100)
    .option('--check', 'recompute each checkpoint from the log')
    .option('--json', 'print JSON: seq, jws and claims of each')
    .action((_options: unknown, command: Command) =>
      runList(command.optsWithGlobals<ListOptions>(), context),
    );
}
