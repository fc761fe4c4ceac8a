/**
 * `npm run demo`: the demo app on 127.0.0.1:$PORT (default 3000).
 * Store: $MONGODB_URI when set; else an embedded mongod from mongodb-memory-server when one can be
 * had; else the in-memory store. Keys and the subject secret are made on the first start into the
 * git-ignored demo/.keys/ and reused, so tokens stay valid across restarts.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { StoreOption } from '../lib/index.js';
import { createDemoApp } from './app.js';

const KEYS_DIR = new URL('./.keys/', import.meta.url);
const port = Number(process.env['PORT'] ?? 3000);
const origin = `http://127.0.0.1:${port}`;

/** The file's text; on the first start, `make()` writes it (owner-only, never overwritten). */
async function keyFile(name: string, make: () => string): Promise<{ path: string; text: string }> {
  const url = new URL(name, KEYS_DIR);
  try {
    return { path: url.pathname, text: await readFile(url, 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(KEYS_DIR, { recursive: true, mode: 0o700 });
  await writeFile(url, make(), { mode: 0o600, flag: 'wx' });
  console.log(`Generated demo/.keys/${name}`);
  return { path: url.pathname, text: await readFile(url, 'utf8') };
}

async function openStore(): Promise<{ store: StoreOption; stop?: () => Promise<unknown> }> {
  const uri = process.env['MONGODB_URI'];
  if (uri) return { store: { mongo: { uri } } };
  // Offline, the mongod download fails; one retry keeps that short.
  process.env['MONGOMS_MAX_RETRIES'] ??= '1';
  const { MongoBinary, MongoMemoryServer } = await import('mongodb-memory-server');
  let binary: string;
  try {
    // Finding (or downloading) mongod first keeps a failure to this one line.
    binary = await MongoBinary.getPath();
  } catch (error) {
    const reason = (error as { code?: string }).code ?? (error as Error).message.split('\n')[0];
    console.warn(
      `WARNING: no MongoDB (set MONGODB_URI; mongodb-memory-server has no mongod: ${reason}); ` +
        'using the in-memory store: nothing survives a restart.',
    );
    return { store: { memory: true } };
  }
  const server = await MongoMemoryServer.create({ binary: { systemBinary: binary } });
  console.log('Store: embedded MongoDB (mongodb-memory-server); its data is gone when this stops.');
  return { store: { mongo: { uri: server.getUri(), dbName: 'demo' } }, stop: () => server.stop() };
}

const signingKey = await keyFile(
  'private.pem',
  () =>
    generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string,
);
const subjectSecret = await keyFile('subject-secret', () => randomBytes(32).toString('base64url'));
const { store, stop } = await openStore();
const { app, auth } = await createDemoApp({
  issuer: origin,
  store,
  keys: { privateKeyFile: signingKey.path, alg: 'ES256' },
  subjectSecret: subjectSecret.text.trim(),
});

const server = app.listen(port, '127.0.0.1', () => {
  console.log(
    `koa-jwtconnect demo: ${origin}/  (audit timeline: ${origin}/audit, sessions: ${origin}/sessions, metrics: ${origin}/metrics)`,
  );
});

async function shutdown(): Promise<void> {
  server.close();
  await auth.close();
  await stop?.();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
