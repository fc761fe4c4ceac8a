/**
 * `audit verify`: walks every stream's hash chain and compares each stream's end with the
 * projection (see lib/ledger/hash-chain.ts). Any problem names its stream and seq; exit 1.
 */
import type { Command } from 'commander';
import { verifyLedger } from '../ledger/index.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { EXIT_PROBLEMS } from './errors.js';
import { startProgress } from './progress.js';

interface VerifyOptions extends ConnectionOptions {
  progress: boolean;
}

async function run(options: VerifyOptions, context: CliContext): Promise<void> {
  await withStore(options, context.env, 'read', async (store) => {
    const progress = startProgress({
      label: 'verifying',
      total: await store.countEvents(),
      enabled: options.progress,
    });
    const report = await verifyLedger(store, (done) => progress.update(done)).finally(() =>
      progress.stop(),
    );
    for (const { stream, seq, problem, detail } of report.problems) {
      context.out(`stream ${stream} seq ${seq}: ${problem} (${detail})`);
    }
    const count = report.problems.length;
    const verdict = report.ok ? 'OK' : `${count} problem${count === 1 ? '' : 's'}`;
    context.out(`${report.streams} streams, ${report.events} events: ${verdict}`);
    if (!report.ok) context.exitCode = EXIT_PROBLEMS;
  });
}

export function registerVerify(audit: Command, context: CliContext): void {
  audit
    .command('verify')
    .summary("check every stream's hash chain; exit 1 on tampering")
    .description(
      "Check every stream's hash chain: each event's hash matches its content, each event " +
        'links to the one before it, no seq is missing, and each stream ends where the ' +
        'projection says it does (a deleted last event is caught). Prints each problem with ' +
        'its stream and seq, then a summary. Exit 0 when clean, 1 on any problem.',
    )
    .option('--no-progress', 'no progress output on stderr')
    .addHelpText(
      'after',
      [
        '',
        'Progress goes to stderr: a bar on a terminal, a plain line every 5 s otherwise.',
        '',
        'Example:',
        '  $ MONGODB_URI=mongodb://db.example.org/auth koa-jwtconnect audit verify',
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      run(command.optsWithGlobals<VerifyOptions>(), context),
    );
}
