/**
 * Resolves one real MongoDB-compatible server for the whole test run, in this order:
 *   1. MONGODB_URI, when set;
 *   2. mongodb-memory-server (honours MONGOMS_SYSTEM_BINARY; downloads `mongod` when it can);
 *   3. FerretDB v1.24.2 with its SQLite backend, built from the Go module proxy and cached;
 *   4. otherwise one error that lists the three options.
 * The store is never replaced by a mock: the contract suite needs a server that speaks the wire protocol.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { assertServerAllowed } from './db.js';

const run = promisify(execFile);
const FERRETDB_VERSION = 'v1.24.2';
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

export interface TestServer {
  uri: string;
  /** Human-readable name of what the run is using, printed once. */
  kind: string;
  stop(): Promise<void>;
}

export async function startTestServer(env: NodeJS.ProcessEnv = process.env): Promise<TestServer> {
  assertServerAllowed(env);
  const fromEnv = env['MONGODB_URI'];
  if (fromEnv) {
    return {
      uri: fromEnv,
      kind: `MongoDB from MONGODB_URI (${redact(fromEnv)})`,
      stop: async () => {},
    };
  }
  const failures: string[] = [];
  try {
    return await startMemoryServer();
  } catch (error) {
    failures.push(`mongodb-memory-server: ${firstLine(error)}`);
  }
  try {
    return await startFerretDb();
  } catch (error) {
    failures.push(`FerretDB: ${firstLine(error)}`);
  }
  throw new Error(
    [
      'No MongoDB server for the tests. Provide one of:',
      '  1. MONGODB_URI=mongodb://host:port (any MongoDB >= 5 or compatible server);',
      '  2. internet access for mongodb-memory-server, or MONGOMS_SYSTEM_BINARY=/path/to/mongod;',
      `  3. Go on the PATH, to build FerretDB ${FERRETDB_VERSION} from the Go module proxy.`,
      'What was tried:',
      ...failures.map((f) => `  - ${f}`),
    ].join('\n'),
  );
}

async function startMemoryServer(): Promise<TestServer> {
  const { MongoMemoryServer } = await import('mongodb-memory-server');
  const server = await MongoMemoryServer.create();
  const version = server.opts.binary?.version ?? 'default version';
  return {
    uri: server.getUri(),
    kind: `mongodb-memory-server (mongod ${version})`,
    stop: async () => {
      await server.stop();
    },
  };
}

/**
 * `go install .../cmd/ferretdb@v1.24.2` alone yields a binary that panics at start-up, because the
 * module on the proxy lacks the generated build/version/version.txt. So the module source is copied
 * from the Go module cache, that one file is written, and the binary is built from the copy.
 */
async function ferretDbBinary(): Promise<string> {
  const cacheDir = join(
    process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'),
    'koa-jwtconnect',
  );
  const binary = join(cacheDir, `ferretdb-${FERRETDB_VERSION}`);
  if (await exists(binary)) return binary;

  process.stdout.write(`Building FerretDB ${FERRETDB_VERSION} (once; cached in ${cacheDir})...\n`);
  const env = { ...process.env, GOFLAGS: '-mod=mod' };
  const { stdout } = await run(
    'go',
    ['mod', 'download', '-json', `${FERRETDB_MODULE}@${FERRETDB_VERSION}`],
    { env, maxBuffer: 1 << 24 },
  );
  const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  const source = await mkdtemp(join(tmpdir(), 'ferretdb-src-'));
  try {
    await cp(moduleDir, source, { recursive: true });
    await chmod(join(source, 'build', 'version'), 0o755);
    await writeFile(join(source, 'build', 'version', 'version.txt'), `${FERRETDB_VERSION}\n`);
    await mkdir(cacheDir, { recursive: true });
    await run('go', ['build', '-o', `${binary}.tmp`, './cmd/ferretdb'], {
      cwd: source,
      env,
      maxBuffer: 1 << 24,
    });
    await run('mv', [`${binary}.tmp`, binary]);
  } finally {
    await run('chmod', ['-R', 'u+w', source]);
    await rm(source, { recursive: true, force: true });
  }
  return binary;
}

async function startFerretDb(): Promise<TestServer> {
  const binary = await ferretDbBinary();
  const dir = await mkdtemp(join(tmpdir(), 'ferretdb-data-'));
  const port = await freePort();
  const child: ChildProcess = spawn(
    binary,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      `--state-dir=${dir}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`ferretdb exited (${code}): ${stderr}`))),
  );
  const uri = `mongodb://127.0.0.1:${port}/`;
  await Promise.race([waitForServer(uri), exited]);
  exited.catch(() => {}); // after start-up, an exit is reported by the tests that lose the server
  return {
    uri,
    kind: `FerretDB ${FERRETDB_VERSION} (SQLite backend, ${uri})`,
    stop: async () => {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForServer(uri: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 15_000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

function redact(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}
