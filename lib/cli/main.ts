#!/usr/bin/env node
/**
 * The `koa-jwtconnect` command. Exit codes: 0 OK, 1 tampering or differences found, 2 usage,
 * connection or any other error. Errors are one line on stderr (stack with `--debug`), with
 * connection-string passwords masked; key material is never part of a message.
 */
import { inspect } from 'node:util';
import { CommanderError } from 'commander';
import { maskPasswords } from './connection.js';
import { processContext, type CliContext } from './context.js';
import { CliError, EXIT_FAILURE, describeError } from './errors.js';
import { buildProgram } from './program.js';

/** Runs the CLI on `argv` (as `process.argv`) and resolves to the exit code. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const program = buildProgram(context);
  try {
    await program.parseAsync(argv);
    return context.exitCode;
  } catch (error) {
    // Commander has already printed its own message (or the help / version asked for).
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_FAILURE;
    const { uri, debug } = program.opts<{ uri?: string; debug?: boolean }>();
    const mask = (text: string) => maskPasswords(text, uri);
    // A CliError's message is complete; other errors are told with their causes.
    const message = error instanceof CliError ? error.message : describeError(error);
    context.err(mask(`error: ${message}`));
    if (debug) context.err(mask(inspect(error, { depth: 4 })));
    return EXIT_FAILURE;
  }
}

process.exitCode = await runCli(process.argv, processContext());
