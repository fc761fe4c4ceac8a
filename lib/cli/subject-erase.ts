/**
 * `subject erase`: erases a subject's personal data, as `auth.erase()` does (see
 * lib/personal-data/erase.ts): revokes its sessions, destroys its data keys, records `erased`.
 * Running it again finishes an erasure that was interrupted; after a complete one it does nothing.
 */
import { Option, type Command } from 'commander';
import { Ledger } from '../ledger/index.js';
import { eraseSubject } from '../personal-data/erase.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { parseSeconds } from './parse.js';
import { dataKeysFrom, SECRET_ENV, subjectFrom } from './personal-data.js';

interface EraseCommandOptions extends ConnectionOptions {
  sub?: string;
  user?: string;
  actor: string;
  reason: string;
  clockTolerance: number;
}

async function run(options: EraseCommandOptions, context: CliContext): Promise<void> {
  const sub = subjectFrom(options, context.env);
  await withStore(options, context.env, 'write', async (store) => {
    const ledger = new Ledger({ store });
    const result = await eraseSubject(ledger, dataKeysFrom(context.env, store), sub, {
      actor: options.actor,
      reason: options.reason,
      toleranceMs: options.clockTolerance * 1000,
    });
    context.out(
      result.erased
        ? `erased ${sub}: sessions revoked, ${result.keysDestroyed} data key${result.keysDestroyed === 1 ? '' : 's'} destroyed`
        : `nothing to erase: ${sub} was erased already`,
    );
  });
}

export function registerErase(subject: Command, context: CliContext): void {
  subject
    .command('erase')
    .summary("erase a subject's personal data (revoke, destroy its keys, record it)")
    .description(
      "Erase a subject's personal data: revoke every session, destroy its data keys (its " +
        'claims, IPs and user agents become unreadable for good) and append an "erased" event. ' +
        'Events stay and verify. Running it again finishes an interrupted erasure, and does ' +
        'nothing after a complete one.',
    )
    .addOption(new Option('--sub <sub>', 'the subject: the opaque "sub" claim').conflicts('user'))
    .option('--user <id>', `the user id, turned into its sub with ${SECRET_ENV}`)
    .option('--actor <actor>', 'who performs the erasure (recorded)', 'cli')
    .option('--reason <reason>', 'why (recorded)', 'erasure')
    .addOption(
      new Option('--clock-tolerance <seconds>', "the plugin's clockTolerance")
        .argParser(parseSeconds)
        .default(5),
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ koa-jwtconnect subject erase --sub <sub> --actor dpo@example.org --reason gdpr_request',
        `  $ ${SECRET_ENV}=... koa-jwtconnect subject erase --user u-1234`,
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      run(command.optsWithGlobals<EraseCommandOptions>(), context),
    );
}
