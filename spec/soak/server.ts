/**
 * The soak's server process: the demo app (`createDemoApp`, unchanged) on MongoDB, with a signing
 * key and subject secret made for this run. Started by soak.ts with `--expose-gc`; reports its port
 * over IPC, and answers `memory` (after a full GC), `sample` (as it is), `errors` and `stop`.
 *
 * Environment: SOAK_MONGODB_URI, SOAK_DB.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createDemoApp } from '../../demo/app.js';

export interface MemoryReport {
  rss: number;
  heapUsed: number;
}

export type ServerMessage = { port: number } | { memory: MemoryReport } | { errors: string[] };

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const send = (message: ServerMessage) => process.send?.(message);
const errors: string[] = [];
const privateKeyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  type: 'pkcs8',
  format: 'pem',
}) as string;

const { app, auth } = await createDemoApp({
  issuer: 'http://127.0.0.1:soak',
  store: { mongo: { uri: required('SOAK_MONGODB_URI'), dbName: required('SOAK_DB') } },
  keys: { privateKeyPem, alg: 'ES256' },
  subjectSecret: randomBytes(32).toString('base64url'),
  // Every 5xx is logged as an error; the soak reports them.
  logger: { warn: () => {}, error: (message) => errors.push(message) },
});
app.on('error', (error: unknown) => errors.push(String(error)));
const server = app.listen(0, '127.0.0.1', () => {
  send({ port: (server.address() as AddressInfo).port });
});

function memory(collect: boolean): MemoryReport {
  if (collect) (globalThis as { gc?: () => void }).gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

process.on('message', (message) => {
  if (message === 'memory' || message === 'sample') send({ memory: memory(message === 'memory') });
  if (message === 'errors') send({ errors });
  if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => void auth.close().then(() => process.exit(0)));
  }
});
