/**
 * `personal-data expire`: destroys the data keys of months that ended more than `--retention-days`
 * ago, as `auth.personalData.expire()` does (see lib/personal-data/expire.ts), keeping those that
 * sessions still able to refresh need.
 */
import type { Command } from 'commander';
import { Ledger } from '../ledger/index.js';
import { expirePersonalData } from '../personal-data/expire.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { parsePositiveInteger, parseSeconds } from './parse.js';
import { dataKeysFrom } from './personal-data.js';

interface ExpireCommandOptions extends ConnectionOptions {
  retentionDays: number;
  clockTolerance: number;
}

async function run(options: ExpireCommandOptions, context: CliContext): Promise<void> {
  await withStore(options, context.env, 'write', async (store) => {
    const report = await expirePersonalData(
      new Ledger({ store }),
      dataKeysFrom(context.env, store),
      { retentionDays: options.retentionDays, toleranceMs: options.clockTolerance * 1000 },
    );
    context.out(
      `periods before ${report.before}: ${report.destroyed} data keys destroyed, ` +
        `${report.kept} kept for sessions that can still refresh`,
    );
  });
}

export function registerExpire(personalData: Command, context: CliContext): void {
  personalData
    .command('expire')
    .summary('destroy the data keys of months past retention')
    .description(
      'Destroy the data keys of every month that ended more than --retention-days days ago: ' +
        'the claims, IPs and user agents they protected read as expired. A key that a session ' +
        'still able to refresh needs is kept until that session ends.',
    )
    .requiredOption(
      '--retention-days <n>',
      "the plugin's personalData.retentionDays",
      parsePositiveInteger,
    )
    .option('--clock-tolerance <seconds>', "the plugin's clockTolerance", parseSeconds, 5)
    .addHelpText(
      'after',
      ['', 'Example:', '  $ koa-jwtconnect personal-data expire --retention-days 90'].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      run(command.optsWithGlobals<ExpireCommandOptions>(), context),
    );
}
