/** What commands need from the process, passed in rather than reached for. */
export interface CliContext {
  readonly env: NodeJS.ProcessEnv;
  /** One line of the report, on stdout. */
  out(line: string): void;
  /** One line of commentary (summaries of counts, hints), on stderr. */
  err(line: string): void;
  /** Set by a command that ran but found problems (`EXIT_PROBLEMS`). */
  exitCode: number;
}

export function processContext(): CliContext {
  return {
    env: process.env,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    exitCode: 0,
  };
}
