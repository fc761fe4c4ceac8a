/**
 * The command tree: global connection options, then `audit history|verify`,
 * `projection rebuild`, `subject erase`, `personal-data expire` and `keys generate`, each in its
 * own file.
 */
import { createRequire } from 'node:module';
import { Command, Option } from 'commander';
import { registerHistory } from './audit-history.js';
import { registerVerify } from './audit-verify.js';
import {
  DEFAULT_DATA_KEYS_COLLECTION,
  DEFAULT_DB,
  DEFAULT_EVENTS_COLLECTION,
  DEFAULT_STATE_COLLECTION,
} from './connection.js';
import type { CliContext } from './context.js';
import { registerGenerate } from './keys-generate.js';
import { parsePositiveInteger } from './parse.js';
import { registerExpire } from './personal-data-expire.js';
import { registerErase } from './subject-erase.js';
import { registerRebuild } from './projection-rebuild.js';

// The same relative path from lib/cli/ (tsx) and dist/cli/ (built).
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export function buildProgram(context: CliContext): Command {
  const program = new Command('koa-jwtconnect')
    .description(
      'Audit, verify and repair the koa-jwtconnect token ledger in MongoDB, and generate ' +
        'signing keys. Exit codes: 0 OK, 1 tampering or differences found, 2 usage or ' +
        'connection error.',
    )
    .version(version)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addOption(new Option('--uri <uri>', 'MongoDB connection string').env('MONGODB_URI'))
    .option('--db <name>', `database (default: the one in the URI, else ${DEFAULT_DB})`)
    .option('--events-collection <name>', 'events collection', DEFAULT_EVENTS_COLLECTION)
    .option('--state-collection <name>', 'projection collection', DEFAULT_STATE_COLLECTION)
    .option('--data-keys-collection <name>', 'data keys collection', DEFAULT_DATA_KEYS_COLLECTION)
    .option('--connect-timeout <ms>', 'how long to wait for the server', parsePositiveInteger, 5000)
    .option('--debug', 'print stack traces of errors');

  const audit = program
    .command('audit')
    .description('read and check the audit ledger (the event log)');
  registerHistory(audit, context);
  registerVerify(audit, context);

  const projection = program
    .command('projection')
    .description('the projection: the current state of each session, derived from the log');
  registerRebuild(projection, context);

  const subject = program
    .command('subject')
    .description("a subject's personal data in the ledger (see docs/personal-data.md)");
  registerErase(subject, context);

  const personalData = program
    .command('personal-data')
    .description('retention of the personal data in the ledger');
  registerExpire(personalData, context);

  const keys = program.command('keys').description('signing keys for the plugin');
  registerGenerate(keys, context);
  return program;
}
