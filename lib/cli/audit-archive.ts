/**
 * `audit archive --before <date> --out <file>`: moves sessions that ended before the date to a
 * gzip NDJSON file with a checkpoint covering them, then removes them from MongoDB, only once the
 * file was flushed, read back and verified. Safe to re-run after a crash at any step.
 */
import type { Command } from 'commander';
import { systemClock } from '../clock.js';
import { archive } from '../ledger/index.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { parseIsoDate } from './parse.js';
import { addSigningOptions, signingKeys, type SigningOptions } from './signing-key.js';

interface ArchiveCliOptions extends ConnectionOptions, SigningOptions {
  before: Date;
  out: string;
}

async function run(options: ArchiveCliOptions, context: CliContext): Promise<void> {
  const { keys, issuer } = await signingKeys(options);
  await withStore(options, context.env, 'write', async (store) => {
    const result = await archive(
      {
        store,
        keys,
        issuer,
        clock: systemClock,
        settleSeconds: options.settle,
        jwks: keys.jwks() as Parameters<typeof archive>[0]['jwks'],
      },
      {
        before: options.before,
        out: options.out,
        onStep: (step) => context.err(`archive: ${step}`),
      },
    );
    for (const id of result.resumed) context.err(`completed the removal of archive ${id}`);
    if (result.id === null) context.out('no session to archive ended before that date');
    else {
      context.out(
        `archive ${result.id}: ${result.streams} sessions, ${result.events} events -> ` +
          `${options.out} (checkpoint ${result.checkpoint})`,
      );
    }
    if (result.leftForKeys > 0) {
      context.out(
        `left in the store: ${result.leftForKeys} ended sessions whose personal data a live data ` +
          'key can still decrypt; they are archived once their keys are destroyed ' +
          '(set personalData.retentionDays and run `personal-data expire`, or `subject erase`)',
      );
    }
  });
}

export function registerArchive(audit: Command, context: CliContext): void {
  addSigningOptions(
    audit
      .command('archive')
      .summary('move sessions that ended before a date to a verified archive file')
      .description(
        'Move every session that ended before --before (revoked, or its refresh token expired) ' +
          'and holds no personal data a live data key can still decrypt to a gzip NDJSON file ' +
          'with a checkpoint covering it, then remove its events and state from MongoDB, only ' +
          'after the file is flushed, read back and verified. A crash at any step loses ' +
          'nothing; run the command again to complete.',
      )
      .requiredOption(
        '--before <iso>',
        'sessions that ended before this date (ISO 8601)',
        parseIsoDate,
      )
      .requiredOption('--out <file>', 'the archive file to write (e.g. ledger-2026-01.ndjson.gz)'),
  )
    .addHelpText(
      'after',
      [
        '',
        'Example:',
        '  $ koa-jwtconnect audit archive --before 2026-01-01 --out ledger-2025.ndjson.gz \\',
        '      --key certs/private.key --alg ES256 --issuer https://auth.example.org',
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      run(command.optsWithGlobals<ArchiveCliOptions>(), context),
    );
}
