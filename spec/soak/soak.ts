/**
 * `npm run soak`: SOAK_SECONDS (default 60) of mixed load at saturation against the demo
 * app on MongoDB, then the books are balanced. SOAK_CLIENTS (default 32) virtual users each loop
 * without pause: log in, then use the session (authenticated calls, introspection of its own token,
 * refreshes) and end it with a revocation, then log in again.
 *
 * Checks, each printed, exit 1 if any fails:
 * - no 5xx and no unexpected status (every operation here is valid, so each must succeed);
 * - both sides of the ledger: the set of sessions whose login succeeded equals the set of `issued`
 *   event streams, the new refresh token of every successful refresh equals the set of `refreshed`
 *   events, every acknowledged revocation is one `revoked` event, and there is no other event;
 * - `koa-jwtconnect audit verify` and `projection rebuild --dry-run` exit 0 afterwards;
 * and it reports the server's RSS (and heap after GC) at the start and the end.
 */
import { fork, execFile, type ChildProcess } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { decodeJwt } from 'jose';
import { MongoClient } from 'mongodb';
import { startTestServer } from '../support/mongo-server.js';
import type { MemoryReport, ServerMessage } from './server.js';

const SECONDS = Number(process.env['SOAK_SECONDS'] ?? 60);
const CLIENTS = Number(process.env['SOAK_CLIENTS'] ?? 32);
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../lib/cli/main.ts', import.meta.url));
const USERS = ['alice', 'bob', 'admin'] as const;

type Kind = 'login' | 'me' | 'introspect' | 'refresh' | 'revoke';
interface Pair {
  access_token: string;
  refresh_token: string;
}

/** What the clients saw: per kind, statuses and latencies; and what the ledger must hold. */
const seen = {
  statuses: new Map<string, number>(),
  latencies: new Map<Kind, number[]>(),
  networkErrors: 0,
  issuedSids: new Set<string>(),
  refreshedJtis: new Set<string>(),
  revokedSids: new Set<string>(),
};

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
let base = '';

function call(
  kind: Kind,
  method: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = {};
  if (payload) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  }
  if (token) headers['authorization'] = `Bearer ${token}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const key = `${kind} ${status}`;
        seen.statuses.set(key, (seen.statuses.get(key) ?? 0) + 1);
        const list = seen.latencies.get(kind) ?? [];
        list.push(performance.now() - started);
        seen.latencies.set(kind, list);
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status, json: text.startsWith('{') ? JSON.parse(text) : {} });
      });
      res.on('error', reject);
    });
    req.on('error', (error) => {
      seen.networkErrors++;
      reject(error);
    });
    req.end(payload);
  });
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/** One virtual user: sessions one after the other until the deadline. */
async function user(deadline: number): Promise<void> {
  while (performance.now() < deadline) {
    const name = pick(USERS);
    const login = await call('login', 'POST', '/login', { username: name, password: name });
    if (login.status !== 200) continue;
    let pair = login.json as unknown as Pair;
    seen.issuedSids.add(decodeJwt(pair.access_token)['sid'] as string);
    const uses = 5 + Math.floor(Math.random() * 20);
    for (let i = 0; i < uses && performance.now() < deadline; i++) {
      const roll = Math.random();
      if (roll < 0.45) {
        await call('me', 'GET', '/api/me', undefined, pair.access_token);
      } else if (roll < 0.7) {
        await call(
          'introspect',
          'POST',
          '/token/introspection',
          { token: pair.access_token },
          pair.access_token,
        );
      } else {
        const refreshed = await call('refresh', 'POST', '/token/refresh', {
          refresh_token: pair.refresh_token,
        });
        if (refreshed.status !== 200) break;
        pair = refreshed.json as unknown as Pair;
        seen.refreshedJtis.add(decodeJwt(pair.refresh_token)['jti'] as string);
      }
    }
    const revoked = await call(
      'revoke',
      'POST',
      '/token/revocation',
      { token: pair.refresh_token },
      pair.access_token,
    );
    if (revoked.status === 200) seen.revokedSids.add(decodeJwt(pair.access_token)['sid'] as string);
  }
}

function ask(child: ChildProcess, message: string): Promise<ServerMessage> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as ServerMessage));
    child.send(message);
  });
}

async function memoryOf(child: ChildProcess, message: 'memory' | 'sample'): Promise<MemoryReport> {
  const reply = await ask(child, message);
  if (!('memory' in reply)) throw new Error('the server did not report its memory');
  return reply.memory;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<boolean> {
  const checks: [string, boolean][] = [];
  const db = `soak_${Date.now()}`;
  const database = await startTestServer();
  console.log(
    `soak: ${SECONDS} s, ${CLIENTS} clients, demo app on ${database.kind}, database ${db}`,
  );
  const child = fork(SERVER, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, SOAK_MONGODB_URI: database.uri, SOAK_DB: db },
  });
  const client = new MongoClient(database.uri);
  try {
    const ready = (await new Promise((resolve) => child.once('message', resolve))) as ServerMessage;
    if (!('port' in ready)) throw new Error('the server did not start');
    base = `http://127.0.0.1:${ready.port}`;
    const start = await memoryOf(child, 'memory');
    let peak = start.rss;
    let sampling: Promise<unknown> = Promise.resolve();
    const sampler = setInterval(() => {
      sampling = memoryOf(child, 'sample').then((m) => (peak = Math.max(peak, m.rss)));
    }, 5000);

    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    const users = await Promise.allSettled(Array.from({ length: CLIENTS }, () => user(deadline)));
    const elapsed = (performance.now() - started) / 1000;
    clearInterval(sampler);
    await sampling;
    const end = await memoryOf(child, 'memory');
    const failed = users.filter((result) => result.status === 'rejected').length;

    // The client side.
    let total = 0;
    let fiveHundreds = 0;
    let unexpected = 0;
    console.log(`\nload: ${elapsed.toFixed(1)} s`);
    for (const kind of ['login', 'me', 'introspect', 'refresh', 'revoke'] as const) {
      const latencies = seen.latencies.get(kind) ?? [];
      const statuses = [...seen.statuses].filter(([key]) => key.startsWith(`${kind} `));
      for (const [key, n] of statuses) {
        const status = Number(key.split(' ')[1]);
        if (status >= 500) fiveHundreds += n;
        if (status !== 200) unexpected += n;
      }
      total += latencies.length;
      console.log(
        `  ${kind.padEnd(10)} ${String(latencies.length).padStart(7)} ` +
          `(${(latencies.length / elapsed).toFixed(0)}/s)  ` +
          `p50 ${percentile(latencies, 50).toFixed(1)} ms  p99 ${percentile(latencies, 99).toFixed(1)} ms  ` +
          statuses.map(([key, n]) => `${key.split(' ')[1]}×${n}`).join(' '),
      );
    }
    console.log(`  total      ${String(total).padStart(7)} (${(total / elapsed).toFixed(0)}/s)`);
    checks.push([`no 5xx (${fiveHundreds})`, fiveHundreds === 0]);
    checks.push([`no unexpected status (${unexpected})`, unexpected === 0]);
    checks.push([
      `no network error (${seen.networkErrors}, ${failed} clients stopped)`,
      seen.networkErrors === 0 && failed === 0,
    ]);
    const errors = await ask(child, 'errors');
    const logged = 'errors' in errors ? errors.errors : [];
    checks.push([
      `nothing logged as an error by the server (${logged.length})`,
      logged.length === 0,
    ]);

    // The ledger side, read straight from the database.
    const events = client.db(db).collection('jwtconnect_events');
    const issued = await events.find({ type: 'issued' }, { projection: { stream: 1 } }).toArray();
    const refreshed = await events
      .find({ type: 'refreshed' }, { projection: { 'refresh.jti': 1 } })
      .toArray();
    const revoked = await events
      .find({ type: 'revoked' }, { projection: { stream: 1, target: 1, meta: 1 } })
      .toArray();
    const all = await events.countDocuments();
    console.log(
      `\nledger: ${all} events: issued ${issued.length}, refreshed ${refreshed.length}, revoked ${revoked.length}` +
        `\nclients: logins ${seen.issuedSids.size}, refreshes ${seen.refreshedJtis.size}, revocations ${seen.revokedSids.size}`,
    );
    const same = (a: readonly string[], b: ReadonlySet<string>) =>
      a.length === b.size && new Set(a).size === a.length && a.every((x) => b.has(x));
    checks.push([
      'each successful login has exactly one issued event, and each issued event its login',
      same(
        issued.map((e) => e['stream'] as string),
        seen.issuedSids,
      ),
    ]);
    checks.push([
      'each successful refresh has exactly one refreshed event, and each refreshed event its refresh',
      same(
        refreshed.map((e) => (e['refresh'] as { jti: string }).jti),
        seen.refreshedJtis,
      ),
    ]);
    checks.push([
      'each acknowledged revocation has exactly one revoked event, and each revoked event its request',
      same(
        revoked.map((e) => e['stream'] as string),
        seen.revokedSids,
      ) && revoked.every((e) => (e['meta'] as { reason?: string }).reason === 'revoked_by_client'),
    ]);
    checks.push(['no other event', all === issued.length + refreshed.length + revoked.length]);

    // The operator's tools, as an operator runs them.
    const run = promisify(execFile);
    for (const args of [
      ['audit', 'verify'],
      ['projection', 'rebuild', '--dry-run'],
    ]) {
      const command = `koa-jwtconnect ${args.join(' ')}`;
      try {
        const { stdout, stderr } = await run(
          process.execPath,
          ['--import', 'tsx', CLI, '--uri', database.uri, '--db', db, ...args, '--no-progress'],
          { maxBuffer: 1 << 24 },
        );
        console.log(`${command}: ${(stdout + stderr).trim().split('\n').at(-1)}`);
        checks.push([`${command} exits 0`, true]);
      } catch (error) {
        const { code, stdout, stderr } = error as {
          code?: number;
          stdout?: string;
          stderr?: string;
        };
        console.log(`${command}: exit ${code}\n${stdout ?? ''}${stderr ?? ''}`);
        checks.push([`${command} exits 0`, false]);
      }
    }

    console.log(
      `\nserver memory: RSS ${mb(start.rss)} at the start, ${mb(end.rss)} at the end (peak sampled ${mb(peak)}); ` +
        `heap after GC ${mb(start.heapUsed)} -> ${mb(end.heapUsed)}`,
    );
  } finally {
    agent.destroy();
    child.send('stop');
    await new Promise((resolve) => child.once('exit', resolve));
    await client
      .db(db)
      .dropDatabase()
      .catch(() => {});
    await client.close();
    await database.stop();
  }
  console.log('');
  for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  return checks.every(([, ok]) => ok);
}

process.exitCode = (await main()) ? 0 : 1;
