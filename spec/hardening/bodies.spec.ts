/**
 * Bad input changes nothing, for compressed bodies (found by the fuzzer): a body whose
 * Content-Encoding does not describe its bytes is the client's mistake, so every route that reads a
 * body answers 400 `invalid_request` and changes nothing, never 500. A correctly compressed body is
 * read.
 */
import { expect } from 'chai';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { ledgerOf } from '../../lib/internals.js';
import { bearer, startApp, type TestApp } from '../support/http.js';
import { ADMIN, ALICE, testPlugin, type TestPlugin } from '../support/plugin.js';
import { storeSnapshot } from './support.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const gzipped = gzipSync(json({ token: 'x' }));

/** Bytes that do not decode under the named encoding. */
const MISMATCHES: [string, string, Buffer][] = [
  ['plain JSON sent as gzip', 'gzip', json({})],
  ['plain JSON sent as deflate', 'deflate', json({})],
  ['plain JSON sent as br', 'br', json({})],
  ['a truncated gzip stream', 'gzip', gzipped.subarray(0, gzipped.length - 6)],
  ['an empty gzip stream', 'gzip', Buffer.alloc(0)],
];

describe('request bodies with a Content-Encoding [memory store, HTTP]', () => {
  let p: TestPlugin;
  let app: TestApp;
  let admin: string;

  before(async () => {
    p = await testPlugin(null);
    const login = { verifyPassword: (username: string) => ({ id: username, username }) };
    app = await startApp(p.auth, { routes: { login } });
    admin = (await p.auth.issue(ADMIN, { source: 'saml', scope: 'introspection admin' }))
      .access_token;
  });
  after(async () => {
    await app.close();
    await p.auth.close();
  });

  for (const path of [
    '/token/refresh',
    '/token/introspection',
    '/token/revocation',
    '/token/login',
  ]) {
    for (const [what, encoding, bytes] of MISMATCHES) {
      it(`answers 400 invalid_request and changes nothing for ${what} [${path}]`, async () => {
        const before = await storeSnapshot(ledgerOf(p.auth).store);
        const response = await fetch(`${app.url}${path}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-encoding': encoding,
            ...bearer(admin),
          },
          body: bytes,
        });
        expect(response.status).to.equal(400);
        expect(await response.json()).to.deep.equal({
          error: 'invalid_request',
          error_description: 'the request body could not be decoded',
        });
        expect(await storeSnapshot(ledgerOf(p.auth).store)).to.deep.equal(before);
      });
    }
  }

  it('reads a body compressed as it says [gzip, deflate, br]', async () => {
    const codings = [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ] as const;
    for (const [encoding, compress] of codings) {
      const pair = await p.auth.issue(ALICE, { source: 'saml' });
      const response = await fetch(`${app.url}/token/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-encoding': encoding },
        body: compress(json({ token: pair.refresh_token })),
      });
      expect(response.status, encoding).to.equal(200);
      expect(await response.json()).to.have.property('token_type', 'Bearer');
    }
  });
});
