/**
 * `projection rebuild`: folds the whole log into fresh projection documents and replaces the live
 * ones, or with `--dry-run` only reports where the live projection differs from the log.
 */
import type { Command } from 'commander';
import { rebuildProjection, type RebuildDifference } from '../ledger/index.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { EXIT_PROBLEMS } from './errors.js';
import { eventsPerSecond, startProgress } from './progress.js';

interface RebuildOptions extends ConnectionOptions {
  dryRun?: boolean;
  progress: boolean;
}

const MEANING: Readonly<Record<RebuildDifference['kind'], string>> = {
  missing: 'the live projection lacks this stream',
  extra: 'the live projection has a stream the log does not back',
  different: 'the live state differs from the one folded from the log',
};

async function run(options: RebuildOptions, context: CliContext): Promise<void> {
  await withStore(
    options,
    context.env,
    options.dryRun === true ? 'read' : 'write',
    async (store) => {
      const dryRun = options.dryRun === true;
      const progress = startProgress({
        label: dryRun ? 'comparing' : 'rebuilding',
        total: await store.countEvents(),
        enabled: options.progress,
      });
      const startedAt = performance.now();
      const report = await rebuildProjection(store, {
        dryRun,
        onProgress: (done) => progress.update(done),
      }).finally(() => progress.stop());
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(2);
      const rate = `${eventsPerSecond(report.events, startedAt)} events/s`;
      const scanned = `${report.streams} streams, ${report.events} events in ${seconds} s (${rate})`;
      if (!dryRun) {
        context.out(`rebuilt the projection: ${scanned}`);
        return;
      }
      for (const { stream, kind } of report.differences) {
        context.out(`stream ${stream}: ${kind} (${MEANING[kind]})`);
      }
      const count = report.differences.length;
      const verdict =
        count === 0
          ? 'the projection matches the log'
          : `${count} difference${count === 1 ? '' : 's'}, nothing written (dry run)`;
      context.out(`${scanned}: ${verdict}`);
      if (count > 0) context.exitCode = EXIT_PROBLEMS;
    },
  );
}

export function registerRebuild(projection: Command, context: CliContext): void {
  projection
    .command('rebuild')
    .summary('rebuild the projection from the event log')
    .description(
      'Fold every stream of the event log into its state and replace the projection with the ' +
        'result (states a live writer moved past meanwhile are kept). With --dry-run, write ' +
        'nothing: print each stream whose live state differs (missing, extra, different) and ' +
        'exit 1 if there is any.',
    )
    .option('--dry-run', 'only report differences from the live projection; exit 1 if any')
    .option('--no-progress', 'no progress output on stderr')
    .addHelpText(
      'after',
      [
        '',
        'Progress (with events/s) goes to stderr: a bar on a terminal, a plain line',
        'every 5 s otherwise. Run `audit verify` first: a rebuild trusts the log as it is.',
        '',
        'Examples:',
        '  $ koa-jwtconnect projection rebuild --dry-run',
        '  $ koa-jwtconnect projection rebuild',
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      run(command.optsWithGlobals<RebuildOptions>(), context),
    );
}
