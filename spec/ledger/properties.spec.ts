/**
 * Property tests: random sequences of issue / refresh / revoke / clock moves, run through
 * `Ledger.execute`, then checked against the log (the projection is always the fold of the log, and
 * a rebuild reproduces it exactly) and against a reference model written here from scratch.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { tokenAt } from '../../lib/ledger/audit.js';
import type { IssuedEvent, RefreshedEvent, TokenRef } from '../../lib/ledger/events.js';
import { subjectStream } from '../../lib/ledger/events.js';
import { canonicalJson } from '../../lib/ledger/hash-chain.js';
import { rebuildProjection, verifyLedger } from '../../lib/ledger/integrity.js';
import { Ledger } from '../../lib/ledger/ledger.js';
import { MemoryStore } from '../../lib/ledger/memory-store.js';
import { MongoStore } from '../../lib/ledger/mongo-store.js';
import { TOKEN_RETENTION_MS, tokenStatus, type TokenStatus } from '../../lib/ledger/projection.js';
import type { LedgerStore } from '../../lib/ledger/store.js';
import { fakeClock } from '../support/clock.js';
import { openTestDatabase, type TestDatabase } from '../support/db.js';
import { collect } from './support.js';
import { issued, newId, refreshed, revoked, T0 } from './drafts.js';
import { expect } from './expect.js';

const SUBJECTS = 2;
/** Short lifetimes, so that clock moves of up to two minutes make tokens expire. */
const TTL = { accessTtl: 60, refreshTtl: 300 };

type Command =
  | { kind: 'issue'; sub: number }
  | { kind: 'refresh'; session: number }
  | { kind: 'revokeToken'; session: number; token: number }
  | { kind: 'revokeSession'; session: number }
  | { kind: 'revokeSubject'; sub: number }
  | { kind: 'advance'; ms: number };

/** Commands whose clock moves are up to `maxAdvanceMs` long. */
const commands = (maxAdvanceMs: number): fc.Arbitrary<Command> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('issue'), sub: fc.nat(SUBJECTS - 1) }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('refresh'), session: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('revokeToken'),
        session: fc.nat(),
        token: fc.nat(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('revokeSession'), session: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('revokeSubject'), sub: fc.nat(SUBJECTS - 1) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('advance'),
        ms: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: maxAdvanceMs })),
      }),
    },
  ) as fc.Arbitrary<Command>;
const command = commands(120_000);
/** Clock moves of up to two hours: long enough for the projection to prune expired tokens. */
const longCommand = commands(2 * TOKEN_RETENTION_MS);

/** Points in time to ask about, as fractions of the scenario's span (plus some margin). */
const probes = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 });

interface ModelToken {
  sid: string;
  issuedAt: number;
  exp: number;
  rotatedAt?: number;
  revokedAt?: number;
}

interface ModelSession {
  sid: string;
  sub: string;
  createdAt: number;
  refresh: string;
  jtis: string[];
  revokedAt?: number;
  /** Time of the stream's latest event. */
  lastEventAt: number;
}

/** What happened when, as plain lists; the answers follow the documented rules, not the code. */
class Model {
  readonly tokens = new Map<string, ModelToken>();
  readonly sessions: ModelSession[] = [];
  readonly cutOffs: { sub: string; time: number; before: number }[] = [];
  events = 0;

  addTokens(session: ModelSession, now: number, ...refs: TokenRef[]): void {
    for (const ref of refs) {
      this.tokens.set(ref.jti, { sid: session.sid, issuedAt: now, exp: ref.exp });
      session.jtis.push(ref.jti);
    }
  }

  /**
   * Whether the projection no longer holds the token: expired more than the retention before its
   * session's latest event, and not the session's current refresh token.
   */
  pruned(jti: string): boolean {
    const token = this.tokens.get(jti)!;
    const session = this.sessions.find((s) => s.sid === token.sid)!;
    return jti !== session.refresh && token.exp * 1000 < session.lastEventAt - TOKEN_RETENTION_MS;
  }

  status(jti: string, time: number): TokenStatus | 'unknown' {
    const token = this.tokens.get(jti);
    if (!token || time < token.issuedAt) return 'unknown';
    const session = this.sessions.find((s) => s.sid === token.sid)!;
    const happened = (at: number | undefined) => at !== undefined && at <= time;
    if (happened(token.revokedAt) || happened(session.revokedAt)) return 'revoked';
    // A cut-off covers sessions created in its second or before (fail closed within the second).
    const second = (ms: number) => Math.floor(ms / 1000);
    const cut = this.cutOffs.some(
      (c) =>
        c.sub === session.sub && c.time <= time && second(session.createdAt) <= second(c.before),
    );
    if (cut) return 'revoked';
    if (happened(token.rotatedAt)) return 'rotated';
    if (token.exp * 1000 <= time) return 'expired';
    return 'active';
  }
}

async function run(ledger: Ledger, model: Model, subs: string[], step: Command): Promise<void> {
  const now = ledger.clock();
  const pick = (n: number) => model.sessions[n % model.sessions.length]!;
  switch (step.kind) {
    case 'advance': {
      (ledger.clock as ReturnType<typeof fakeClock>).advance(step.ms);
      return;
    }
    case 'issue': {
      const sid = newId('sid');
      const sub = subs[step.sub]!;
      const appended = await ledger.execute(sid, (_s, { now }) => issued(sub, now, TTL));
      const event = appended!.event as IssuedEvent;
      const session: ModelSession = {
        sid,
        sub,
        createdAt: now,
        refresh: '',
        jtis: [],
        lastEventAt: now,
      };
      session.refresh = event.refresh.jti;
      model.sessions.push(session);
      model.addTokens(session, now, event.access, event.refresh);
      model.events++;
      return;
    }
    case 'refresh': {
      if (model.sessions.length === 0) return;
      const session = pick(step.session);
      // What the refresh route does: rotate only an active refresh token.
      const { subject } = await ledger.loadSession(session.sid, session.sub);
      const appended = await ledger.execute(session.sid, (state, { now }) =>
        state?.kind === 'session' &&
        tokenStatus(state, state.refreshJti, subject, now)?.status === 'active'
          ? refreshed(state, now)
          : null,
      );
      const allowed = model.status(session.refresh, now) === 'active';
      expect(appended !== null, `refresh allowed (${model.status(session.refresh, now)})`).to.equal(
        allowed,
      );
      if (!appended) return;
      const event = appended.event as RefreshedEvent;
      expect(event.spent).to.equal(session.refresh);
      model.tokens.get(session.refresh)!.rotatedAt = now;
      session.refresh = event.refresh.jti;
      session.lastEventAt = now;
      model.addTokens(session, now, event.access, event.refresh);
      model.events++;
      return;
    }
    case 'revokeToken': {
      if (model.sessions.length === 0) return;
      const session = pick(step.session);
      const jti = session.jtis[step.token % session.jtis.length]!;
      await ledger.execute(session.sid, () =>
        revoked.token(session.sub, jti, { reason: 'user', actor: session.sub }),
      );
      model.tokens.get(jti)!.revokedAt ??= now;
      session.lastEventAt = now;
      model.events++;
      return;
    }
    case 'revokeSession': {
      if (model.sessions.length === 0) return;
      const session = pick(step.session);
      await ledger.execute(session.sid, () => revoked.session(session.sub));
      session.revokedAt ??= now;
      session.lastEventAt = now;
      model.events++;
      return;
    }
    case 'revokeSubject': {
      const sub = subs[step.sub]!;
      await ledger.execute(subjectStream(sub), (_s, { now }) =>
        revoked.subject(sub, new Date(now)),
      );
      model.cutOffs.push({ sub, time: now, before: now });
      model.events++;
      return;
    }
  }
}

/** How many tokens the scenarios found pruned, so a property that should prune is seen to. */
let prunedSeen = 0;

async function scenario(store: LedgerStore, steps: Command[], fractions: number[]): Promise<void> {
  const clock = fakeClock(T0);
  const ledger = new Ledger({ store, clock });
  await ledger.open();
  const subs = Array.from({ length: SUBJECTS }, () => newId('sub'));
  const model = new Model();
  for (const step of steps) await run(ledger, model, subs, step);

  // The live projection agrees with the model now.
  for (const [jti, token] of model.tokens) {
    const { session, subject } = await ledger.findByToken(jti);
    if (model.pruned(jti)) {
      expect(session, `${jti} pruned`).to.equal(null);
      prunedSeen++;
      continue;
    }
    expect(session?.stream).to.equal(token.sid);
    const live = tokenStatus(session!, jti, subject, clock())?.status;
    expect(live, `live status of ${jti}`).to.equal(model.status(jti, clock()));
  }

  // (a) Projection == fold(log).
  const dry = await rebuildProjection(store, { dryRun: true });
  expect(dry.differences).to.deep.equal([]);
  expect(dry.events).to.equal(model.events);
  // (d) The chains verify.
  expect(await verifyLedger(store)).to.deep.include({ ok: true, events: model.events });

  // (c) Point-in-time answers match the model, at random times and at each token's edges.
  const span = clock() - T0 + TTL.refreshTtl * 1000 + 2000;
  const times = fractions.map((f) => T0 - 1000 + Math.floor(f * span));
  for (const [jti, token] of model.tokens) {
    const edges = [token.issuedAt - 1, token.issuedAt, token.exp * 1000 - 1, token.exp * 1000];
    for (const time of [...times, ...edges]) {
      const answer = await tokenAt(ledger, jti, new Date(time));
      expect(answer.status, `${jti} at T0+${time - T0}`).to.equal(model.status(jti, time));
    }
  }
  expect((await tokenAt(ledger, newId('at'), new Date(clock()))).status).to.equal('unknown');

  // (b) A real rebuild writes exactly the states live updating wrote.
  const before = (await collect(store.scanStates())).map((state) => canonicalJson(state));
  expect(await rebuildProjection(store)).to.include({ written: true, events: model.events });
  const after = (await collect(store.scanStates())).map((state) => canonicalJson(state));
  expect(after).to.deep.equal(before);
}

describe('ledger properties', () => {
  it('keeps projection, rebuild, chains and point-in-time answers consistent [memory]', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 50 }), probes, (steps, fractions) =>
        scenario(new MemoryStore(), steps, fractions),
      ),
      { numRuns: 300 },
    );
  });

  it('keeps them consistent while the projection prunes long-expired tokens [memory]', async () => {
    prunedSeen = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(longCommand, { maxLength: 50 }), probes, (steps, fractions) =>
        scenario(new MemoryStore(), steps, fractions),
      ),
      { numRuns: 150 },
    );
    expect(prunedSeen).to.be.above(0);
  });

  describe('on MongoDB', () => {
    let t: TestDatabase;
    before(async () => {
      t = await openTestDatabase('properties');
    });
    after(async () => {
      await t.dispose();
    });

    it('keeps projection, rebuild, chains and point-in-time answers consistent [mongodb]', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { maxLength: 20 }), probes, (steps, fractions) => {
          // Collections of its own per run, so a failing run shrinks on its own data.
          const suffix = randomBytes(4).toString('hex');
          const store = new MongoStore({
            db: t.db,
            collections: {
              events: `events_${suffix}`,
              state: `state_${suffix}`,
            },
          });
          return scenario(store, steps, fractions);
        }),
        { numRuns: 20 },
      );
    });
  });
});
