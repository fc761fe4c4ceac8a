import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { Db } from 'mongodb';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import { dataKeyIdOf } from '../../lib/personal-data/codec.js';
import { testPlugin, type TestPlugin } from '../support/plugin.js';
import { DISTINCT, ZELDA, onBothStores, request } from './support.js';

/** Everything stored, as text: every document of every collection (MongoDB, read raw). */
async function mongoDump(db: Db): Promise<string> {
  const parts: string[] = [];
  for (const { name } of await db.listCollections().toArray()) {
    parts.push(name, JSON.stringify(await db.collection(name).find({}).toArray()));
  }
  return parts.join('\n');
}

/** Everything the memory store holds, through every read it offers. */
async function memoryDump(store: MemoryStore): Promise<string> {
  const parts: unknown[] = [];
  for await (const event of store.scanEvents()) {
    parts.push(event);
    const kid = event.personal === undefined ? null : dataKeyIdOf(event.personal);
    if (kid !== null) parts.push(await store.findDataKey(kid));
  }
  for await (const state of store.scanStates()) parts.push(state);
  parts.push(await store.pendingStreams(), await store.liveDataKeys({ periodBefore: '9999-99' }));
  return JSON.stringify(parts);
}

onBothStores('personal data at rest', (db) => {
  let p: TestPlugin;
  let memory: MemoryStore | undefined;
  before(async () => {
    const database = db();
    memory = database ? undefined : new MemoryStore();
    p = await testPlugin(database, {
      ...(memory && { store: { custom: memory } }),
      extraClaims: () => ({ department: 'pii-canary-department' }),
    });
    const [ip1, ip2] = DISTINCT.ips as [string, string];
    const [ua1, ua2] = DISTINCT.agents as [string, string];
    const first = await p.auth.issue(ZELDA, { source: 'saml', ctx: request(ip1, ua1) });
    p.clock.advance(60_000);
    const second = await p.auth.refresh(first.refresh_token, request(ip2, ua2));
    p.clock.advance(60_000);
    await p.auth.revoke(
      { jti: decodeJwt(second.access_token).jti as string },
      {
        reason: 'logout',
        ctx: request(ip2, ua1),
      },
    );
    await p.auth.issue(ZELDA, { source: 'password', ctx: request(ip2, ua2) });
    await p.auth.revoke({ sub: p.auth.subjectOf(ZELDA) }, { ctx: request(ip1, ua2) });
  });
  after(async () => {
    await p.auth.close();
  });

  it('holds no email, name, IP or user agent in clear in any document of any collection', async () => {
    const database = db();
    const dump = database ? await mongoDump(database) : await memoryDump(memory as MemoryStore);
    expect(dump).to.include('"personal"');
    for (const value of [
      DISTINCT.email,
      DISTINCT.givenName,
      ZELDA.username,
      'pii-canary-department',
      ...DISTINCT.ips,
      ...DISTINCT.agents,
      'pii-canary',
      'beef',
    ]) {
      expect(dump, value).to.not.include(value);
    }
  });

  it('still reads every one of them back through the audit history, and verifies', async () => {
    const page = await p.auth.audit.history({ sub: p.auth.subjectOf(ZELDA) });
    const text = JSON.stringify(page.events);
    for (const value of [DISTINCT.email, DISTINCT.givenName, ...DISTINCT.ips, ...DISTINCT.agents]) {
      expect(text, value).to.include(value);
    }
    expect(page.events.map((event) => event.personal)).to.deep.equal(
      page.events.map(() => 'decrypted'),
    );
    expect((await p.auth.audit.verify()).ok).to.equal(true);
    expect((await p.auth.audit.rebuild({ dryRun: true })).differences).to.deep.equal([]);
  });
});
