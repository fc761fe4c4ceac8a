/**
 * The world the fuzzer attacks: one plugin (memory store or MongoDB) signing with an RSA key (the
 * key type with the most private members to leak), the hardening app on a real HTTP server, and
 * tokens in every state a client can hold: active, scoped, spent (past the reuse grace), revoked
 * and expired. Requests are generated as recipes and made concrete against the current fixtures,
 * so the world can be re-issued after a request legitimately spends or revokes something.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { decodeJwt } from 'jose';
import type { Db } from 'mongodb';
import { jwtconnect, type JwtConnect } from '../../lib/jwtconnect.js';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { ledgerOf } from '../../lib/internals.js';
import { fakeClock, type FakeClock } from '../support/clock.js';
import { keyPair, type TestKeyPair } from '../support/keys.js';
import { ADMIN, ALICE, BOB, TEST_ISSUER } from '../support/plugin.js';
import { startHardeningApp, type HardeningApp } from './app.js';
import { storeSnapshot, type LedgerSnapshot, type Secrets } from './support.js';

export const FIXTURES = [
  'aliceAccess',
  'aliceRefresh',
  'adminAccess',
  'adminRefresh',
  'bobAccess',
  'bobRefresh',
  'bobSpentRefresh',
  'revokedAccess',
  'revokedRefresh',
  'expiredAccess',
  'expiredRefresh',
] as const;
export type FixtureName = (typeof FIXTURES)[number];

/** Ids a forged claim or a query may borrow from the fixtures: `@sid:alice`, `@jti:admin`... */
export type Reference = `@${'sid' | 'sub' | 'jti'}:${'alice' | 'admin' | 'bob' | 'revoked'}`;

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export class FuzzWorld {
  readonly tokens = {} as Record<FixtureName, string>;
  /** Events the plugin appended since the last `take()`. */
  readonly #appended: LedgerEvent[] = [];
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 8 });

  private constructor(
    readonly auth: JwtConnect,
    readonly app: HardeningApp,
    readonly clock: FakeClock,
    readonly key: TestKeyPair,
    readonly secrets: Secrets,
    /** What the plugin logged as errors (every 5xx is logged). */
    readonly errors: string[],
  ) {
    for (const type of ['issued', 'refreshed', 'revoked'] as const) {
      auth.on(type, (event) => this.#appended.push(event));
    }
  }

  /** A world on `db`, or on the memory store when `db` is null. */
  static async open(db: Db | null): Promise<FuzzWorld> {
    const key = await keyPair('RS256');
    const subjectSecret = randomBytes(32).toString('base64url');
    const clock = fakeClock();
    const errors: string[] = [];
    const auth = await jwtconnect({
      issuer: TEST_ISSUER,
      keys: { privateKeyPem: key.privatePem, alg: 'RS256' },
      subjectSecret,
      store: db ? { mongo: { db } } : { memory: true },
      clock,
      logger: { warn: () => {}, error: (message) => errors.push(message) },
    });
    const jwk = key.privateJwk as Record<string, unknown>;
    const values = [subjectSecret, key.privatePem.split('\n')[1] ?? ''];
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
      if (typeof jwk[member] === 'string') values.push(jwk[member]);
    }
    const app = await startHardeningApp(auth);
    const world = new FuzzWorld(auth, app, clock, key, { values }, errors);
    await world.reset();
    return world;
  }

  /** How many times fixtures were issued; the ledger grows with each (see `FuzzWorlds`). */
  resets = 0;

  /** Issues a fresh set of fixtures (older sessions stay in the ledger, as in real life). */
  async reset(): Promise<void> {
    this.resets++;
    const { auth, clock } = this;
    clock.advance(10_000);
    const now = clock();
    clock.set(now - 2 * 3600 * 1000);
    const expired = await auth.issue({ id: 'u-dave' }, { source: 'fuzz' });
    clock.set(now);
    const alice = await auth.issue(ALICE, { source: 'fuzz' });
    const admin = await auth.issue(ADMIN, { source: 'fuzz', scope: 'introspection audit admin' });
    const bobFirst = await auth.issue(BOB, { source: 'fuzz' });
    const bob = await auth.refresh(bobFirst.refresh_token);
    const revoked = await auth.issue({ id: 'u-carol' }, { source: 'fuzz' });
    await auth.revoke({ sid: decodeJwt(revoked.access_token)['sid'] as string });
    // Past the reuse grace: presenting Bob's spent token now is theft, not a lost race.
    clock.advance(3000);
    Object.assign(this.tokens, {
      aliceAccess: alice.access_token,
      aliceRefresh: alice.refresh_token,
      adminAccess: admin.access_token,
      adminRefresh: admin.refresh_token,
      bobAccess: bob.access_token,
      bobRefresh: bob.refresh_token,
      bobSpentRefresh: bobFirst.refresh_token,
      revokedAccess: revoked.access_token,
      revokedRefresh: revoked.refresh_token,
      expiredAccess: expired.access_token,
      expiredRefresh: expired.refresh_token,
    } satisfies Record<FixtureName, string>);
    this.take();
  }

  /** The value a reference names, from the current fixtures. */
  resolve(reference: Reference): string {
    const [kind, who] = reference.slice(1).split(':') as ['sid' | 'sub' | 'jti', string];
    const token = this.tokens[`${who}Access` as FixtureName];
    return decodeJwt(token)[kind] as string;
  }

  /** The events appended since the last call. */
  take(): LedgerEvent[] {
    return this.#appended.splice(0);
  }

  snapshot(): Promise<LedgerSnapshot> {
    return storeSnapshot(ledgerOf(this.auth).store);
  }

  /** Sends a request exactly as given (body bytes, headers) and reads the whole answer. */
  send(raw: RawRequest): Promise<RawReply> {
    // The path goes on the wire as given (`new URL` would read `//x` as a host).
    const { hostname, port } = new URL(this.app.url);
    // A body always has a length: Node sends a GET's body unframed otherwise.
    const headers = raw.body
      ? { ...raw.headers, 'content-length': String(raw.body.length) }
      : raw.headers;
    return new Promise((resolve, reject) => {
      const options = { hostname, port, path: raw.path, method: raw.method, headers };
      const req = httpRequest({ ...options, agent: this.#agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(raw.body);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
    await this.app.close();
    await this.auth.close();
  }
}

/**
 * The world a property runs against, replaced by a fresh one (an empty ledger) after a number of
 * resets, so the before/after snapshots stay cheap over tens of thousands of cases.
 */
export class FuzzWorlds {
  static readonly RESETS_PER_WORLD = 8;
  #world: FuzzWorld | undefined;

  constructor(private readonly open: () => Promise<FuzzWorld>) {}

  async current(): Promise<FuzzWorld> {
    this.#world ??= await this.open();
    return this.#world;
  }

  /** After a request spent, revoked or issued something: new fixtures, or a new world. */
  async renew(): Promise<void> {
    const world = await this.current();
    if (world.resets < FuzzWorlds.RESETS_PER_WORLD) return world.reset();
    this.#world = undefined;
    await world.close();
  }

  async close(): Promise<void> {
    await this.#world?.close();
    this.#world = undefined;
  }
}
