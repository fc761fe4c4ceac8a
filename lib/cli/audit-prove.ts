/**
 * `audit prove --sid`: one session's inclusion proof as a JSON document.
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

async function runProve(
  options: ConnectionOptions & { sid: string },
  context: CliContext,
): Promise<void> {
  await withStore(options, context.env, 'read', async (store) => {
    context.out(JSON.stringify(await prove(store, options.sid), null, 2));
  });
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
    const events = (proof as { events: unknown[] }).events.length;
    context.out(
      `OK: ${events} events of session ${(proof as { stream: string }).stream} are in the ` +
        `checkpoint of ${new Date(claims.upto * 1000).toISOString()} signed by ${claims.iss}`,
    );
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
      "Print one session's inclusion proof: its events (as audit history --json shows them), " +
        'the latest checkpoint JWS covering them, the leaf index and the RFC 6962 audit path. ' +
        'Anyone with the JWKS can check it (audit verify-proof).',
    )
    .requiredOption('--sid <sid>', 'the session (the "sid" claim)')
    .addHelpText(
      'after',
      '\nExample:\n  $ koa-jwtconnect audit prove --sid 3q2-7wEjRJm8mZ0wq1Y8dA > proof.json',
    )
    .action((_options: unknown, command: Command) =>
      runProve(command.optsWithGlobals<ConnectionOptions & { sid: string }>(), context),
    );

  audit
    .command('verify-proof')
    .summary('check an inclusion proof with the JWKS alone; exit 1 if it fails')
    .description(
      'Check an inclusion proof without any database: the checkpoint signature verifies with ' +
        'the JWKS, the events chain, the last one is the leaf, and the audit path leads to the ' +
        'signed root. Exit 0 when it holds, 1 when it does not.',
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
