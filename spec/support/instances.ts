/**
 * Plugin instances on a test database of their own, served over HTTP: one for the route specs, two
 * sharing the database for the deployment in which concurrent refreshes contend (SECURITY.md
 * "Refresh token rotation").
 */
import type { Db } from 'mongodb';
import type { JwtConnectOptions } from '../../lib/config.js';
import type { FakeClock } from './clock.js';
import { openTestDatabase, type TestDatabase } from './db.js';
import { postJson, startApp, type Reply, type TestApp, type TestAppOptions } from './http.js';
import { testPlugin, type TestPlugin } from './plugin.js';

export interface OneInstance {
  t: TestDatabase;
  p: TestPlugin;
  app: TestApp;
  /** Closes the app and the plugin, then drops the database. */
  close(): Promise<void>;
}

/** A plugin on the test database `name`, with its routes (`app` options) served. */
export async function oneInstance(name: string, app: TestAppOptions = {}): Promise<OneInstance> {
  const t = await openTestDatabase(name);
  const p = await testPlugin(t.db);
  const served = await startApp(p.auth, app);
  return {
    t,
    p,
    app: served,
    async close() {
      await served.close();
      await p.auth.close();
      await t.dispose();
    },
  };
}

export interface TwoInstances {
  t: TestDatabase;
  one: TestPlugin;
  two: TestPlugin;
  /** `one`'s app, then `two`'s. */
  apps: TestApp[];
  /** Closes the apps and the plugins, then drops the database. */
  close(): Promise<void>;
}

export async function twoInstances(
  name: string,
  options: Partial<JwtConnectOptions>,
  clock: FakeClock,
): Promise<TwoInstances> {
  const t = await openTestDatabase(name);
  const one = await testPlugin(t.db, options, clock);
  const two = await testPlugin(t.db, options, clock);
  const apps = [await startApp(one.auth), await startApp(two.auth)];
  return {
    t,
    one,
    two,
    apps,
    async close() {
      for (const app of apps) await app.close();
      await one.auth.close();
      await two.auth.close();
      await t.dispose();
    },
  };
}

/** The same refresh token from `parallel` clients at once, alternating between the instances. */
export function raceRefresh(
  apps: readonly TestApp[],
  token: string,
  parallel: number,
): Promise<Reply[]> {
  return Promise.all(
    Array.from({ length: parallel }, (_, i) =>
      postJson(`${apps[i % apps.length]!.url}/token/refresh`, { token }),
    ),
  );
}

export type StoreKind = 'memory' | 'MongoDB';

export interface PluginsPerTest {
  /** The suite's test database for MongoDB, `null` for the memory store. */
  db(): Db | null;
  /** Keeps `p` to be closed after the current test. */
  track(p: TestPlugin): TestPlugin;
}

/**
 * The hooks of a suite whose tests each start their own plugins on the store `kind`: for MongoDB
 * one test database `name` for the whole suite; the plugins a test started are closed after it.
 */
export function pluginsPerTest(kind: StoreKind, name: string): PluginsPerTest {
  let t: TestDatabase | undefined;
  let plugins: TestPlugin[] = [];
  before(async () => {
    if (kind === 'MongoDB') t = await openTestDatabase(name);
  });
  afterEach(async () => {
    for (const { auth } of plugins) await auth.close();
    plugins = [];
  });
  after(async () => {
    await t?.dispose();
  });
  return {
    db: () => t?.db ?? null,
    track(p) {
      plugins.push(p);
      return p;
    },
  };
}
