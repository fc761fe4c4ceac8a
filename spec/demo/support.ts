/**
 * The demo app for tests: in-process on 127.0.0.1:0, on the run's real database, with test-time
 * keys and a clock the test moves.
 */
import { createDemoApp } from '../../demo/app.js';
import type { JwtConnect } from '../../lib/index.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { serve } from '../support/http.js';
import { keyPair } from '../support/keys.js';
import { SUBJECT_SECRET, quietLogger } from '../support/plugin.js';

export interface RunningDemo {
  url: string;
  auth: JwtConnect;
  clock: FakeClock;
  close(): Promise<void>;
}

export async function startDemo(label: string): Promise<RunningDemo> {
  const database: TestDatabase = await openTestDatabase(label);
  const clock = fakeClock();
  const pair = await keyPair('ES256');
  const { app, auth } = await createDemoApp({
    store: { mongo: { db: database.db } },
    keys: { privateKeyPem: pair.privatePem, alg: 'ES256' },
    subjectSecret: SUBJECT_SECRET,
    clock,
    logger: quietLogger,
  });
  const served = await serve(app);
  return {
    url: served.url,
    auth,
    clock,
    async close() {
      await served.close();
      await auth.close();
      await database.dispose();
    },
  };
}

/** What the fake IdP posts to /sso/acs after `username` picks themselves on /sso/idp. */
export async function ssoAssertion(url: string, username: string): Promise<string> {
  const response = await fetch(`${url}/sso/idp`, {
    method: 'POST',
    body: new URLSearchParams({ username }),
  });
  const html = await response.text();
  const match = /name="assertion" value="([^"]+)"/.exec(html);
  if (response.status !== 200 || !match?.[1]) {
    throw new Error(`the IdP gave no assertion (${response.status})`);
  }
  return match[1];
}

/** POSTs an assertion to the ACS as the browser would. */
export function postAssertion(url: string, assertion: string): Promise<Response> {
  return fetch(`${url}/sso/acs`, {
    method: 'POST',
    body: new URLSearchParams({ assertion }),
  });
}

/** The value of `<textarea id="...">` on a server-rendered page. */
export function textareaValue(html: string, id: string): string | undefined {
  const match = new RegExp(`<textarea id="${id}"[^>]*>([^<]*)</textarea>`).exec(html);
  return match?.[1];
}
