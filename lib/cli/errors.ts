/**
 * Exit codes and the one error type the CLI raises itself. Everything else that reaches `main`
 * (a store that cannot be reached, a ledger input the library refuses) is reported the same way:
 * one line on stderr, exit 2.
 */
import type { ErrorOptions } from '../errors.js';

/** Everything checked out. */
export const EXIT_OK = 0;
/** The command ran and found tampering, or a projection that differs from the log. */
export const EXIT_PROBLEMS = 1;
/** Bad usage, a connection or store error, or any other failure to run the command. */
export const EXIT_FAILURE = 2;

/** A mistake the operator can fix from the message alone: bad arguments, missing URI, etc. */
export class CliError extends Error {
  static readonly code = 'ERR_CLI';
  readonly code = CliError.code;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The message of `error` and of its causes, without stacks: `a: b: c`. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 4; depth += 1) {
    const message = current instanceof Error ? current.message : String(current);
    if (message !== '' && !parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
