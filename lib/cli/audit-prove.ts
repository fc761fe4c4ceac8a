/**
 * `audit prove --sid [--sealed]`: one session's inclusion proof as a JSON document, personal
 * fields decrypted as `audit history --json` shows them (with the subject secret in the
 * environment), or left sealed.
 * `audit verify-proof <file> --jwks <url|file>`: checks one with the public keys alone, no
 * database (exit 1 when it does not hold).
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { prove, verifyProof } from '../ledger/index.js';
import { withStore, type ConnectionOptions } from './connection.js';
import type { CliContext } from './context.js';
import { CliError, EXIT_PROBLEMS } from './errors.js';
import { readJwks } from './jwks-source.js';
import { personalDataFrom, SECRET_ENV } from './personal-data.js';

interface ProveOptions extends ConnectionOptions {
  sid: string;
  sealed?: boolean;
}

async function runProve(options: ProveOptions, context: CliContext): Promise<void> {
  await withStore(options, context.env, 'read', async (store) => {
    const personal = options.sealed ? 'sealed' : 'revealed';
    const personalData = personalDataFrom(context.env, store);
    const proof = await prove(
      store,
      options.sid,
      { personal },
      personalData && ((events) => personalData.reveal(events)),
    );
    context.out(JSON.stringify(proof, null, 2));
  });
}

/** Events whose personal fields the proof shows in clear: the hashes cover their ciphertext. */
function inClear(events: unknown[]): number {
  return events.filter(
    (event) => (event as { personal?: unknown } | null)?.personal === 'decrypted',
  ).length;
}

async function runVerifyProof(
  file: string,
  options: { jwks: string },
  context: CliContext,
): Promise<void> {
  const jwks = await readJwks(options.jwks);
  let proof: unknown;
  try {
    proof = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file}: cannot read a JSON proof (${(error as Error).message})`);
  }
  const report = await verifyProof(proof, jwks);
  for (const problem of report.problems) context.out(problem);
  if (report.ok && report.claims) {
    const { claims } = report;
    const { events } = proof as { events: unknown[] };
    context.out(
      `OK: ${events.length} events of session ${(proof as { stream: string }).stream} are in ` +
        `the checkpoint of ${new Date(claims.upto * 1000).toISOString()} signed by ${claims.iss}`,
    );
    const clear = inClear(events);
    if (clear > 0) {
      context.out(
        `note: ${clear} event${clear === 1 ? ' shows' : 's show'} personal fields in clear; ` +
          'the signature covers their ciphertext, not the clear text',
      );
    }
  } else {
    context.out('NOT VERIFIED');
    context.exitCode = EXIT_PROBLEMS;
  }
}

export function registerProve(audit: Command, context: CliContext): void {
  audit
    .command('prove')
    .summary("print a session's inclusion proof (JSON)")
    .description(
      "Print one session's inclusion proof: its events (as audit history --json shows them, " +
        'each with its stored personal data ciphertext), the latest checkpoint JWS covering ' +
        'them, the leaf index and the RFC 6962 audit path. Anyone with the JWKS can check it ' +
        `(audit verify-proof). Personal fields are decrypted with $${SECRET_ENV}, as history ` +
        'does; --sealed leaves them encrypted, for a reader who should not see them.',
    )
    .requiredOption('--sid <sid>', 'the session (the "sid" claim)')
    .option('--sealed', 'events as stored: personal data as ciphertext only, never in clear')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        `  $ ${SECRET_ENV}=... koa-jwtconnect audit prove --sid 3q2-7wEjRJm8mZ0wq1Y8dA > proof.json`,
        '  $ koa-jwtconnect audit prove --sid 3q2-7wEjRJm8mZ0wq1Y8dA --sealed > proof.json',
      ].join('\n'),
    )
    .action((_options: unknown, command: Command) =>
      runProve(command.optsWithGlobals<ProveOptions>(), context),
    );

  audit
    .command('verify-proof')
    .summary('check an inclusion proof with the JWKS alone; exit 1 if it fails')
    .description(
      'Check an inclusion proof without any database: the checkpoint signature verifies with ' +
        'the JWKS, the events chain, the last one is the leaf, and the audit path leads to the ' +
        'signed root. Each event is checked in its stored form: personal fields shown in clear ' +
        'are not covered by the signature, their ciphertext is. Exit 0 when it holds, 1 when ' +
        'it does not.',
    )
    .argument('<file>', 'the proof (JSON, as audit prove prints it)')
    .requiredOption('--jwks <url|file>', "the plugin's JWKS: its URL or a saved copy")
    .addHelpText(
      'after',
      '\nExample:\n  $ koa-jwtconnect audit verify-proof proof.json \\\n' +
        '      --jwks https://auth.example.org/.well-known/jwks.json',
    )
    .action((file: string, options: { jwks: string }) => runVerifyProof(file, options, context));
}
