/**
 * A plugin process that dies abruptly (SIGKILL: no exit handlers, no flush) right after the
 * `revoked` event of one session is inserted and before the projection is written. Started by
 * crash.spec.ts as `node --import tsx spec/hardening/crash-child.ts`, with:
 *
 *   CRASH_URI, CRASH_DB          the test database;
 *   CRASH_KEY_PEM, CRASH_SECRET  the same signing key and subject secret as the test's plugin;
 *   CRASH_SID                    the session whose revocation kills the process;
 *   CRASH_NOW                    the test's frozen clock (epoch ms).
 *
 * It serves the plugin's routes on an ephemeral port, reports `{ port }` over IPC, and otherwise
 * behaves like any instance: the process is the real plugin, only its store is booby-trapped.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { jwtconnect } from '../../lib/jwtconnect.js';
import { ledgerOf } from '../../lib/internals.js';
import { TEST_ISSUER, quietLogger } from '../support/plugin.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const doomed = required('CRASH_SID');
const now = Number(required('CRASH_NOW'));
const auth = await jwtconnect({
  issuer: TEST_ISSUER,
  keys: { privateKeyPem: required('CRASH_KEY_PEM'), alg: 'ES256' },
  subjectSecret: required('CRASH_SECRET'),
  store: { mongo: { uri: required('CRASH_URI'), dbName: required('CRASH_DB') } },
  clock: () => now,
  logger: quietLogger,
});

const store = ledgerOf(auth).store;
const append = store.appendEvent.bind(store);
store.appendEvent = async (event) => {
  await append(event);
  if (event.type === 'revoked' && event.stream === doomed) {
    // The event is durable; the projection update that would follow never happens.
    process.kill(process.pid, 'SIGKILL');
    await new Promise<never>(() => {});
  }
};

const app = new Koa();
app.use(auth.routes());
const server = createServer(app.callback());
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
