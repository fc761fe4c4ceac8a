/**
 * Runs the real `koa-jwtconnect` binary (lib/cli/main.ts through tsx) as a child process and
 * collects its exit code and output. Each run costs a Node start-up: keep the number modest.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `env` replaces the CLI-related variables; everything else is inherited (PATH for openssl). */
export function cli(args: readonly string[], env: Record<string, string | undefined> = {}) {
  const { MONGODB_URI: _inherited, ...base } = process.env;
  return new Promise<CliRun>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args],
      { cwd: ROOT, env: { ...base, ...env }, timeout: 30_000, maxBuffer: 1 << 24 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.code;
        if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A CLI bound to one test database: `MONGODB_URI` is the run's server, `--db` the database; `env`
 * adds variables (e.g. the subject secret that decrypts personal data).
 */
export function cliOn(uri: string, dbName: string, env: Record<string, string> = {}) {
  return (args: readonly string[]) => cli(['--db', dbName, ...args], { MONGODB_URI: uri, ...env });
}
