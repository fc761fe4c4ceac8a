/**
 * Mistakes that used to fail silently are said out loud: a factory handed to Koa uncalled, and the
 * in-memory store, which forgets everything on restart.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Router } from '@koa/router';
import { expect, use } from 'chai';
import chaiAsPromised from 'chai-as-promised';
import Koa, { type Middleware } from 'koa';
import { InvalidGrantError } from '../lib/errors.js';
import { jwtconnect, type JwtConnect } from '../lib/jwtconnect.js';
const UNKNOWN_SESSION =
  'unknown session: the ledger has no record of this token (was the store reset?)';
import { fakeClock } from './support/clock.js';
import { bearer, get, postJson } from './support/http.js';
import { ALICE, SUBJECT_SECRET, TEST_ISSUER, quietLogger } from './support/plugin.js';

use(chaiAsPromised);

const KEY = { secret: randomBytes(32), alg: 'HS256' as const };

interface Logged {
  warnings: string[];
  logger: { warn(message: string): void; error(): void };
}

function recordingLogger(): Logged {
  const warnings: string[] = [];
  return { warnings, logger: { warn: (message) => warnings.push(message), error: () => {} } };
}

function memoryPlugin(logger = quietLogger): Promise<JwtConnect> {
  return jwtconnect({
    issuer: TEST_ISSUER,
    keys: KEY,
    subjectSecret: SUBJECT_SECRET,
    store: { memory: true },
    clock: fakeClock(),
    logger,
  });
}

interface Served {
  url: string;
  errors: Error[];
  close(): Promise<void>;
}

/** A Koa app built by `wire`, recording what Koa reports through `app.on('error')`. */
async function serve(wire: (app: Koa) => void): Promise<Served> {
  const app = new Koa();
  const errors: Error[] = [];
  app.silent = true;
  app.on('error', (error: Error) => errors.push(error));
  wire(app);
  const server: Server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    errors,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

describe('jwtconnect()', () => {
  describe('a factory passed to Koa instead of called', () => {
    let auth: JwtConnect;
    before(async () => {
      auth = await memoryPlugin();
    });
    after(async () => {
      await auth.close();
    });

    for (const name of ['authenticate', 'routes', 'loginHook'] as const) {
      it(`fails every request with a TypeError that says to call it [app.use(auth.${name})]`, async () => {
        const served = await serve((app) => app.use(auth[name] as unknown as Middleware));
        try {
          const reply = await get(`${served.url}/.well-known/jwks.json`);
          expect(reply.status).to.equal(500);
          expect(served.errors).to.have.length(1);
          const [error] = served.errors;
          expect(error).to.be.instanceOf(TypeError);
          expect(error!.message).to.equal(
            `auth.${name} was used as middleware; call it to get one: ` +
              `app.use(auth.${name}()), not app.use(auth.${name})`,
          );
        } finally {
          await served.close();
        }
      });
    }

    it('fails the same way on a router [router.get(path, auth.authenticate, handler)]', async () => {
      const served = await serve((app) => {
        const router = new Router();
        router.get('/api/me', auth.authenticate as unknown as Middleware, (ctx) => {
          ctx.body = 'reached';
        });
        app.use(router.routes());
      });
      try {
        const reply = await get(`${served.url}/api/me`);
        expect(reply.status).to.equal(500);
        expect(served.errors[0]?.message).to.match(/^auth\.authenticate was used as middleware/);
      } finally {
        await served.close();
      }
    });

    it('still builds middleware when called [with and without options]', () => {
      expect(auth.authenticate()).to.be.a('function');
      expect(auth.authenticate({ scope: 'admin' })).to.be.a('function');
      expect(auth.routes({ prefix: '/auth' })).to.be.a('function');
      expect(auth.loginHook({ source: 'saml' })).to.be.a('function');
    });
  });

  describe('the in-memory store', () => {
    it('warns once, through the configured logger, that its state is in-process only', async () => {
      const { warnings, logger } = recordingLogger();
      const auth = await memoryPlugin(logger as typeof quietLogger);
      try {
        await auth.issue(ALICE, { source: 'saml' });
        auth.routes();
        expect(warnings.filter((message) => message.includes('memory'))).to.deep.equal([
          'store: { memory: true } keeps the ledger in this process only: tokens, revocations ' +
            'and history are lost on restart and not shared with other instances; use ' +
            'store.mongo in production',
        ]);
      } finally {
        await auth.close();
      }
    });

    it('says a token from before a restart is unknown to the ledger [Bearer, refresh]', async () => {
      const before = await memoryPlugin();
      const pair = await before.issue(ALICE, { source: 'saml' });
      await before.close();

      const after = await memoryPlugin();
      const served = await serve((app) => {
        app.use(after.routes());
        const router = new Router();
        router.get('/api/me', after.authenticate(), (ctx) => {
          ctx.body = 'reached';
        });
        app.use(router.routes());
      });
      try {
        const reply = await get(`${served.url}/api/me`, bearer(pair.access_token));
        expect(reply.status).to.equal(401);
        expect(reply.body).to.deep.equal({
          error: 'invalid_token',
          error_description: UNKNOWN_SESSION,
        });
        expect(UNKNOWN_SESSION).to.equal(
          'unknown session: the ledger has no record of this token (was the store reset?)',
        );
        const refreshed = await postJson(`${served.url}/token/refresh`, {
          token: pair.refresh_token,
        });
        expect(refreshed.status).to.equal(400);
        expect(refreshed.body).to.deep.equal({
          error: 'invalid_grant',
          error_description: UNKNOWN_SESSION,
        });
        await expect(after.refresh(pair.refresh_token)).to.be.rejectedWith(
          InvalidGrantError,
          UNKNOWN_SESSION,
        );
      } finally {
        await served.close();
        await after.close();
      }
    });
  });
});
