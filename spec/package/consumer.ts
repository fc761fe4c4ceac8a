/**
 * A throwaway consumer app outside the repository (under the OS temp folder): the package packed
 * with `npm pack`, installed with the README's install lines, and the fixtures in `app/` beside it.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./app/', import.meta.url));

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment without npm's own `npm_*` variables, so the child npm works on the app. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ...extra };
}

/** Runs a command to completion; never throws on a non-zero exit (the caller asserts on it). */
export async function exec(file: string, args: readonly string[], cwd: string): Promise<Output> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: cleanEnv(), maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (caught) {
    const failed = caught as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw caught;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function ok(file: string, args: readonly string[], cwd: string): Promise<string> {
  const out = await exec(file, args, cwd);
  if (out.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${out.code}\n${out.stdout}\n${out.stderr}`);
  }
  return out.stdout;
}

export interface ConsumerApp {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Packs the package (its `prepack` builds `dist`), makes an app in a temp folder and runs each
 * install line there, the package's own name replaced by the tarball.
 */
export async function makeConsumerApp(
  installs: readonly string[][],
  files: Record<string, string>,
): Promise<ConsumerApp> {
  const dir = await mkdtemp(join(tmpdir(), 'jwtconnect-consumer-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    const packs = join(dir, 'packs');
    await mkdir(packs);
    await ok('npm', ['pack', '--silent', '--pack-destination', packs], ROOT);
    const [tarball] = await readdir(packs);
    if (tarball === undefined) throw new Error('npm pack wrote no tarball');
    const app = join(dir, 'app');
    await cp(FIXTURES, app, { recursive: true });
    const manifest = { name: 'consumer', private: true, type: 'module' };
    await writeFile(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    for (const [name, text] of Object.entries(files)) await writeFile(join(app, name), text);
    for (const args of installs) {
      const resolved = args.map((arg) => (arg === 'koa-jwtconnect' ? join(packs, tarball) : arg));
      await ok('npm', [...resolved, '--prefer-offline', '--no-audit', '--no-fund'], app);
    }
    return { dir: app, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}
