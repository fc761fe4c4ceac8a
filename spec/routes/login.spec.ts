/**
 * The optional POST /token/login over HTTP: a correct password goes through the hook; a wrong one
 * and an unknown user look exactly alike; failures are throttled per username and per IP, per
 * router instance, and the throttle lets go after its window.
 */
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import type { RoutesOptions } from '../../lib/routes/index.js';
import { oneInstance } from '../support/instances.js';
import {
  bearer,
  get,
  pairOf,
  postForm,
  postJson,
  startApp,
  type HeaderMap,
  type TestApp,
} from '../support/http.js';
import type { TestPlugin } from '../support/plugin.js';

const PASSWORDS: Record<string, string> = {
  alice: 'correct horse',
  bob: 'battery staple',
  carol: 'carol-pw',
  dave: 'dave-pw',
  erin: 'erin-pw',
  frank: 'frank-pw',
  grace: 'grace-pw',
  heidi: 'heidi-pw',
};

/** Password checks per username, to count the guesses that got through the throttle. */
const checks = new Map<string, number>();

/** Holds Erin's password checks until released. */
const erinGate = {
  checked: 0,
  release: () => {},
  held: Promise.resolve(),
};
erinGate.held = new Promise<void>((resolve) => {
  erinGate.release = resolve;
});

const routes: RoutesOptions = {
  login: {
    verifyPassword: async (username, password) => {
      checks.set(username, (checks.get(username) ?? 0) + 1);
      if (username === 'erin') {
        erinGate.checked++;
        await erinGate.held;
      }
      return PASSWORDS[username] === password ? { id: `id-${username}`, username } : null;
    },
    scope: (_ctx, user) => (user['username'] === 'alice' ? 'audit' : undefined),
  },
};

let ips = 0;
/** A client address of its own, so only the username's limit across addresses is in play. */
function fromNewIp(): HeaderMap {
  ips += 1;
  return { 'x-forwarded-for': `10.0.${Math.floor(ips / 250)}.${ips % 250}` };
}

describe('POST /token/login [MongoDB, HTTP]', () => {
  let p: TestPlugin;
  let app: TestApp;
  let url: string;
  let close: () => Promise<void>;

  before(async () => {
    ({ p, app, close } = await oneInstance('routes_login', { routes, proxy: true }));
    url = `${app.url}/token/login`;
  });
  after(() => close());

  it('issues a token pair for a correct password through the hook [JSON, form]', async () => {
    const json = await postJson(url, { username: 'alice', password: 'correct horse' }, fromNewIp());
    expect(json.status).to.equal(200);
    expect(json.headers.get('cache-control')).to.equal('no-store');
    expect(json.headers.get('pragma')).to.equal('no-cache');
    const pair = pairOf(json);
    expect(pair).to.include({ token_type: 'Bearer', scope: 'audit' });
    expect((await get(`${app.url}/api/me`, bearer(pair.access_token))).status).to.equal(200);
    const sid = decodeJwt(pair.access_token)['sid'] as string;
    const [issued] = (await p.auth.audit.history({ sid })).events;
    expect(issued?.meta).to.include({ source: 'password', ip: `10.0.0.${ips}` });

    const form = await postForm(url, { username: 'bob', password: 'battery staple' }, fromNewIp());
    expect(pairOf(form)).to.not.have.property('scope');
  });

  it('answers byte-identical 401 invalid_grant bodies for a wrong password and an unknown user', async () => {
    const wrong = await postJson(url, { username: 'alice', password: 'wrong' }, fromNewIp());
    const unknown = await postJson(url, { username: 'mallory', password: 'wrong' }, fromNewIp());
    expect(wrong.status).to.equal(401);
    expect(unknown.status).to.equal(401);
    expect(wrong.body['error']).to.equal('invalid_grant');
    expect(unknown.text).to.equal(wrong.text);
    expect(unknown.headers.get('content-type')).to.equal(wrong.headers.get('content-type'));
    expect(unknown.headers.get('www-authenticate')).to.equal(wrong.headers.get('www-authenticate'));
    expect(wrong.text).to.not.include('alice');
  });

  it('answers 400 invalid_request for missing or non-string credentials', async () => {
    for (const body of [
      {},
      { username: 'alice' },
      { password: 'correct horse' },
      { username: 'alice', password: '' },
      { username: 'alice', password: ['correct horse'] },
      { username: { $ne: null }, password: 'correct horse' },
      { username: 'alice', password: 12345 },
      { username: 'a'.repeat(257), password: 'x' },
    ]) {
      const reply = await postJson(url, body, fromNewIp());
      expect(reply.status, JSON.stringify(body)).to.equal(400);
      expect(reply.body['error']).to.equal('invalid_request');
    }
  });

  it('throttles a username from one address after five failures with 429 and Retry-After, and lets go after the window', async () => {
    const address = fromNewIp();
    for (let i = 0; i < 5; i++) {
      const reply = await postJson(url, { username: 'carol', password: `guess${i}` }, address);
      expect(reply.status).to.equal(401);
    }
    p.clock.advance(60_000);
    // Throttled even with the right password, however the username is spelled.
    const throttled = await postJson(url, { username: 'CAROL', password: 'carol-pw' }, address);
    expect(throttled.status).to.equal(429);
    expect(throttled.headers.get('retry-after')).to.equal(String(15 * 60 - 60));
    expect(throttled.body['error']).to.equal('slow_down');
    expect(throttled.text).to.not.include('eyJ');
    p.clock.advance((15 * 60 - 60) * 1000);
    const after = await postJson(url, { username: 'carol', password: 'carol-pw' }, address);
    expect(after.status).to.equal(200);
  });

  it('does not let five wrong passwords from elsewhere lock a user out', async () => {
    const stranger = fromNewIp();
    for (let i = 0; i < 5; i++) {
      const reply = await postJson(url, { username: 'frank', password: `guess${i}` }, stranger);
      expect(reply.status).to.equal(401);
    }
    const stopped = await postJson(url, { username: 'frank', password: 'frank-pw' }, stranger);
    expect(stopped.status).to.equal(429);
    const own = await postJson(url, { username: 'frank', password: 'frank-pw' }, fromNewIp());
    expect(own.status).to.equal(200);
  });

  it('throttles a username everywhere after 100 failures from many addresses', async () => {
    const bots = Array.from({ length: 25 }, fromNewIp);
    for (let i = 0; i < 100; i++) {
      const reply = await postJson(url, { username: 'grace', password: `guess${i}` }, bots[i % 25]);
      expect(reply.status, `guess ${i}`).to.equal(401);
    }
    const own = await postJson(url, { username: 'grace', password: 'grace-pw' }, fromNewIp());
    expect(own.status).to.equal(429);
    expect(Number(own.headers.get('retry-after'))).to.be.within(1, 900);
  });

  it('holds the limit while one address floods it with made-up usernames to make it forget', async () => {
    const small = await startApp(p.auth, {
      routes: { login: { ...routes.login!, throttle: { maxEntries: 50 } } },
      proxy: true,
    });
    const login = (username: string, password: string) =>
      postJson(`${small.url}/token/login`, { username, password }, attacker);
    const attacker = fromNewIp();
    try {
      const before = checks.get('heidi') ?? 0;
      let flood = 0;
      for (let round = 0; round < 10; round++) {
        // Made-up usernames until one gets through (the throttle forgot this address), then a guess.
        for (let i = 0; i < 100; i++) {
          if ((await login(`made-up-${flood++}`, 'x')).status === 401) break;
        }
        await login('heidi', `guess${round}`);
      }
      expect((checks.get('heidi') ?? 0) - before).to.be.at.most(5);
    } finally {
      await small.close();
    }
  });

  it('throttles a client address across usernames after 20 failures, and not other addresses', async () => {
    const attacker = fromNewIp();
    for (let i = 0; i < 20; i++) {
      const reply = await postJson(url, { username: `user${i}`, password: 'x' }, attacker);
      expect(reply.status).to.equal(401);
    }
    const throttled = await postJson(url, { username: 'dave', password: 'dave-pw' }, attacker);
    expect(throttled.status).to.equal(429);
    expect(Number(throttled.headers.get('retry-after'))).to.equal(900);
    const elsewhere = await postJson(url, { username: 'dave', password: 'dave-pw' }, fromNewIp());
    expect(elsewhere.status).to.equal(200);
  });

  it('counts parallel guesses while their passwords are being checked, so they cannot overrun the limit', async () => {
    // Erin's password checks wait until seven answers have come back: only a throttle that counts
    // an attempt before checking its password can answer them.
    const checked = erinGate.checked;
    let throttled = 0;
    let sevenBack = () => {};
    const sevenThrottled = new Promise<void>((resolve) => {
      sevenBack = resolve;
    });
    const address = fromNewIp();
    const replies = Array.from({ length: 12 }, (_, i) =>
      postJson(url, { username: 'erin', password: `guess${i}` }, address).then((reply) => {
        if (reply.status === 429 && ++throttled === 7) sevenBack();
        return reply;
      }),
    );
    await sevenThrottled;
    erinGate.release();
    const statuses = (await Promise.all(replies)).map((reply) => reply.status).sort();
    expect(statuses).to.deep.equal([...Array(5).fill(401), ...Array(7).fill(429)]);
    expect(erinGate.checked - checked).to.equal(5);
  });

  it('keeps its throttle per router: another auth.routes() instance has its own', async () => {
    const other = await startApp(p.auth, { routes, proxy: true });
    try {
      const address = fromNewIp();
      for (let i = 0; i < 6; i++) await postJson(url, { username: 'bob', password: 'no' }, address);
      const here = await postJson(url, { username: 'bob', password: 'battery staple' }, address);
      expect(here.status).to.equal(429);
      const there = await postJson(
        `${other.url}/token/login`,
        { username: 'bob', password: 'battery staple' },
        address,
      );
      expect(there.status).to.equal(200);
    } finally {
      await other.close();
    }
  });
});
