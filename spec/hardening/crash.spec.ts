/**
 * Revocations survive, and the projection stays the fold of the log, across a real crash: a plugin
 * process is SIGKILLed right after it inserted a `revoked` event and before it wrote the projection
 * (spec/hardening/crash-child.ts). The next start repairs the projection from the log before
 * serving, so the revocation that was appended is enforced, and so is the one acknowledged before
 * the crash.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { openTestDatabase, testServerUri, type TestDatabase } from '../support/db.js';
import { bearer, get, postJson, startApp, type TestApp } from '../support/http.js';
import { keyPair } from '../support/keys.js';
import { ALICE, BOB, SUBJECT_SECRET, testPlugin, type TestPlugin } from '../support/plugin.js';
import { expect } from '../ledger/expect.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

interface Child {
  process: ChildProcess;
  port: number;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the booby-trapped instance on the test database and waits for its port. */
async function startChild(dbName: string, doomedSid: string, now: number): Promise<Child> {
  const { privatePem } = await keyPair('ES256');
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: {
      ...process.env,
      CRASH_URI: testServerUri(),
      CRASH_DB: dbName,
      CRASH_KEY_PEM: privatePem,
      CRASH_SECRET: SUBJECT_SECRET,
      CRASH_SID: doomedSid,
      CRASH_NOW: String(now),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await Promise.race([
    new Promise<number>((resolve) =>
      child.once('message', (message) => resolve((message as { port: number }).port)),
    ),
    exit.then(({ code, signal }) => {
      throw new Error(`the child exited before serving (${code ?? signal})`);
    }),
  ]);
  return { process: child, port, exit };
}

function sidOf(token: string): string {
  return decodeJwt(token)['sid'] as string;
}

describe('a process killed between the event append and the projection update [MongoDB, child process]', () => {
  let t: TestDatabase;
  let child: Child | undefined;
  const plugins: TestPlugin[] = [];
  const apps: TestApp[] = [];

  before(async () => {
    t = await openTestDatabase('hardening_crash');
  });
  after(async () => {
    child?.process.kill('SIGKILL');
    for (const app of apps) await app.close();
    for (const plugin of plugins) await plugin.auth.close();
    await t.dispose();
  });

  async function instance(): Promise<{ plugin: TestPlugin; app: TestApp }> {
    const plugin = await testPlugin(t.db);
    const app = await startApp(plugin.auth);
    plugins.push(plugin);
    apps.push(app);
    return { plugin, app };
  }

  it('repairs the projection on the next start, enforcing the appended revocation and the one acknowledged before', async function () {
    this.timeout(30_000);
    const running = await instance();
    const acknowledged = await running.plugin.auth.issue(ALICE, { source: 'saml' });
    const doomed = await running.plugin.auth.issue(BOB, { source: 'saml' });
    const doomedSid = sidOf(doomed.access_token);
    child = await startChild(t.db.databaseName, doomedSid, running.plugin.clock());
    const childUrl = `http://127.0.0.1:${child.port}`;

    // Alice logs out through the child: acknowledged with 200 before anything goes wrong.
    const ack = await postJson(
      `${childUrl}/token/revocation`,
      { token: acknowledged.refresh_token },
      bearer(acknowledged.access_token),
    );
    expect(ack.status).to.equal(200);
    // Bob logs out through the child, which dies after the insert: he never gets an answer.
    await expect(
      postJson(
        `${childUrl}/token/revocation`,
        { token: doomed.refresh_token },
        bearer(doomed.access_token),
      ),
    ).to.be.rejectedWith(TypeError, 'fetch failed');
    expect(await child.exit).to.deep.equal({ code: null, signal: 'SIGKILL' });

    // What the crash left: the event, a projection one event behind, and the pending mark.
    const events = t.db.collection('jwtconnect_events');
    const states = t.db.collection('jwtconnect_state');
    expect(await events.countDocuments({ stream: doomedSid, type: 'revoked' })).to.equal(1);
    const snapshot = { stream: doomedSid, pending: { $exists: false } };
    const left = await states.find(snapshot).sort({ seq: -1 }).limit(1).toArray();
    expect(left[0]).to.include({ seq: 1 }).and.not.have.property('revoked');
    // The mark for seq 2, in the slot its snapshot takes.
    expect(await states.countDocuments({ stream: doomedSid, seq: 2, pending: 2 })).to.equal(1);

    // A restart: open() repairs before the instance serves.
    const restarted = await instance();
    const repaired = await states.find({ stream: doomedSid }).sort({ seq: -1 }).limit(1).toArray();
    expect(repaired[0]).to.include({ seq: 2 }).and.have.nested.property('revoked.reason');
    expect(await states.countDocuments({ pending: { $gt: 0 } })).to.equal(0);

    // Both revocations are enforced, by the restarted instance and by the one that kept running.
    for (const { app } of [restarted, running]) {
      for (const pair of [acknowledged, doomed]) {
        expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(401);
        const refresh = await postJson(`${app.url}/token/refresh`, { token: pair.refresh_token });
        expect(refresh.body['error']).to.equal('invalid_grant');
      }
    }
    const audit = restarted.plugin.auth.audit;
    expect((await audit.verify()).ok).to.equal(true);
    const rebuild = await audit.rebuild({ dryRun: true });
    expect(rebuild.differences, 'projection == fold(log)').to.deep.equal([]);
  });

  it('completes the projection when the client that got no answer comes back to a running instance, appending nothing twice', async function () {
    this.timeout(30_000);
    const running = await instance();
    const doomed = await running.plugin.auth.issue(BOB, { source: 'saml' });
    const doomedSid = sidOf(doomed.access_token);
    child = await startChild(t.db.databaseName, doomedSid, running.plugin.clock());
    await expect(
      postJson(
        `http://127.0.0.1:${child.port}/token/revocation`,
        { token: doomed.refresh_token },
        bearer(doomed.access_token),
      ),
    ).to.be.rejectedWith(TypeError, 'fetch failed');
    expect((await child.exit).signal).to.equal('SIGKILL');

    // The running instance reads the stream's pending mark with its state and completes the
    // projection first: the revocation is enforced at once, so the retry's own Bearer token is
    // refused (the session it came to end has ended) and nothing is appended twice.
    expect((await get(`${running.app.url}/api/me`, bearer(doomed.access_token))).status).to.equal(
      401,
    );
    const retry = await postJson(
      `${running.app.url}/token/revocation`,
      { token: doomed.refresh_token },
      bearer(doomed.access_token),
    );
    expect(retry.status).to.equal(401);
    const events = t.db.collection('jwtconnect_events');
    expect(await events.countDocuments({ stream: doomedSid, type: 'revoked' })).to.equal(1);
    expect(
      await t.db.collection('jwtconnect_state').countDocuments({ pending: { $gt: 0 } }),
    ).to.equal(0);
    const rebuild = await running.plugin.auth.audit.rebuild({ dryRun: true });
    expect(rebuild.differences, 'projection == fold(log)').to.deep.equal([]);
  });
});
