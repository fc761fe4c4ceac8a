/**
 * Shared pieces of the personal-data specs: requests and users whose personal values are
 * distinctive enough to be searched for in raw storage, and a run over both stores.
 */
import type { Context } from 'koa';
import type { Db } from 'mongodb';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

/** A request as far as the audit log looks at it: client IP and user agent. */
export function request(ip: string, userAgent: string): Context {
  return { ip, get: (name: string) => (name === 'user-agent' ? userAgent : '') } as Context;
}

export const DISTINCT = {
  email: 'zelda.quux-5521@pii-probe.example',
  givenName: 'Zeldaquuxina',
  ips: ['198.51.100.231', '2001:db8::5ad:beef'],
  agents: ['ProbeAgent/7.31 (pii-canary-one)', 'ProbeAgent/7.32 (pii-canary-two)'],
};

export const ZELDA = {
  id: 'u-zelda-5521',
  username: 'zelda5521',
  first_name: DISTINCT.givenName,
  email: DISTINCT.email,
};

/** Runs `define` once on the memory store (db null) and once on MongoDB. */
export function onBothStores(
  title: string,
  define: (db: () => Db | null, label: string) => void,
): void {
  describe(`${title} [memory]`, () => define(() => null, 'memory'));
  describe(`${title} [MongoDB]`, () => {
    let t: TestDatabase;
    before(async () => {
      t = await openTestDatabase(title.slice(0, 20));
    });
    after(async () => {
      await t.dispose();
    });
    define(() => t.db, 'MongoDB');
  });
}
