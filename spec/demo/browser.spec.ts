import { mkdir } from 'node:fs/promises';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startDemo, type RunningDemo } from './support.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SCREENSHOTS = new URL('../.screenshots/', import.meta.url);
const TOKENS_KEY = 'koa-jwtconnect.demo.tokens';
const MINUTE = 60_000;

/**
 * A page that records script errors and CSP violations (`problems`) and every answer >= 400
 * (`failures`), so the test can assert that nothing but the expected failures happened.
 */
async function openPage(
  context: BrowserContext,
  problems: string[],
  failures: string[],
): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Failed loads are in `failures`, with the request that failed.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      const method = response.request().method();
      failures.push(`${response.status()} ${method} ${new URL(response.url()).pathname}`);
    }
  });
  return page;
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: new URL(name, SCREENSHOTS).pathname, fullPage: true });

const texts = (page: Page, selector: string) =>
  page.locator(selector).evaluateAll((nodes) => nodes.map((node) => node.textContent ?? ''));

/** The DOM is not in this project's TypeScript lib; these are the few browser shapes used. */
interface HasDataset {
  dataset: Record<string, string | undefined>;
}
interface BrowserGlobals {
  sessionStorage: { getItem(key: string): string | null };
}

const data = (page: Page, selector: string, name: string) =>
  page
    .locator(selector)
    .evaluateAll(
      (nodes, key) => nodes.map((node) => (node as unknown as HasDataset).dataset[key] ?? ''),
      name,
    );

describe('demo pages in headless Chromium [MongoDB]', function () {
  this.timeout(60_000);
  let demo: RunningDemo;
  let browser: Browser;
  const problems: string[] = [];
  const failures: string[] = [];

  before(async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    demo = await startDemo('demo_browser');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it('signs in by SSO and by password, refreshes, revokes, and shows it all on the audit timeline', async () => {
    // Alice signs in through the fake IdP: / -> /sso/idp -> (auto-POST) /sso/acs.
    const alice = await openPage(await browser.newContext(), problems, failures);
    await alice.goto(`${demo.url}/`);
    await alice.click('#sso-button');
    await alice.click('button[name="username"][value="alice"]');
    await alice.locator('#saved', { hasText: 'Saved' }).waitFor();
    expect(new URL(alice.url()).pathname).to.equal('/sso/acs');
    await shot(alice, 'demo-sso-signed-in.png');

    // She refreshes once, then signs out (revokes the session) from the console.
    demo.clock.advance(MINUTE);
    await alice.click('#continue');
    await alice.locator('#who', { hasText: 'alice' }).waitFor();
    await alice.click('#refresh-button');
    await alice.locator('#status', { hasText: 'Refreshed' }).waitFor();
    const beforeRevoke = JSON.parse(
      (await alice.evaluate(
        (key) => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem(key),
        TOKENS_KEY,
      )) ?? 'null',
    ) as { access_token: string };
    demo.clock.advance(MINUTE);
    await alice.click('#revoke-button');
    await alice.locator('#status', { hasText: 'Signed out' }).waitFor();
    const afterRevoke = await fetch(`${demo.url}/api/me`, {
      headers: { Authorization: `Bearer ${beforeRevoke.access_token}` },
    });
    expect(afterRevoke.status, 'the revoked access token').to.equal(401);

    // Later she signs in again with her password.
    demo.clock.advance(MINUTE);
    await alice.fill('#login-form input[name="username"]', 'alice');
    await alice.fill('#login-form input[name="password"]', 'alice');
    await alice.click('#login-form button[type="submit"]');
    await alice.locator('#status', { hasText: 'Signed in with a password' }).waitFor();
    await shot(alice, 'demo-console.png');

    // The admin signs in on the audit page's form and looks alice up.
    demo.clock.advance(MINUTE);
    const admin = await openPage(await browser.newContext(), problems, failures);
    await admin.goto(`${demo.url}/audit`);
    await admin.fill('#login-form input[name="username"]', 'admin');
    await admin.fill('#login-form input[name="password"]', 'wrong');
    await admin.click('#login-form button[type="submit"]');
    await admin
      .locator('#login-error', { hasText: 'the username or password is not correct' })
      .waitFor();
    await admin.fill('#login-form input[name="password"]', 'admin');
    await admin.click('#login-form button[type="submit"]');
    const badge = admin.locator('#chain-badge.ok');
    await badge.waitFor();
    expect(await badge.textContent()).to.match(/chain verified: \d+ events in \d+ streams/);
    expect(await admin.locator('#who').textContent()).to.equal('admin');

    await admin.selectOption('#lookup-kind', 'username');
    await admin.fill('#lookup-value', 'alice');
    await admin.click('#lookup-form button[type="submit"]');
    await admin.locator('#timeline > li').nth(3).waitFor();
    expect(await admin.locator('#timeline > li').count()).to.equal(4);
    expect(await data(admin, '#timeline > li', 'type')).to.deep.equal([
      'issued',
      'refreshed',
      'revoked',
      'issued',
    ]);
    expect(await data(admin, '#timeline > li', 'source')).to.deep.equal([
      'saml',
      'saml',
      'saml',
      'password',
    ]);
    const streams = await data(admin, '#timeline > li', 'stream');
    expect(streams.slice(0, 3)).to.deep.equal(Array(3).fill(streams[0]));
    expect(streams[3]).to.not.equal(streams[0]);
    const facts = await texts(admin, '#timeline > li');
    expect(facts[0]).to.include('saml / demo-idp').and.include('HeadlessChrome');
    expect(facts[0]).to.include('IP');
    expect(facts[2])
      .to.match(/Reason/)
      .and.match(/Actor/);

    // Lineage: the refresh spent the first refresh token and replaced it.
    const lineage = admin.locator(`.session-lineage[data-sid="${streams[0]}"] li`);
    expect(await lineage.count()).to.equal(3);
    const first = await lineage.nth(0).getAttribute('data-to');
    expect(await lineage.nth(1).getAttribute('data-from')).to.equal(first);
    expect(await lineage.nth(1).getAttribute('data-to')).to.not.equal(first);
    expect(await lineage.nth(1).textContent()).to.include('replaced by');
    expect(await lineage.nth(2).textContent()).to.include('session revoked');

    // Point in time: the SSO session was active when refreshed and revoked from then on.
    const stateOf = async (row: number) => {
      await admin.locator('#timeline > li').nth(row).locator('button.state-here').click();
      const times = await data(admin, '#timeline > li', 'time');
      await admin.locator(`#state-line[data-status] time[datetime="${times[row]}"]`).waitFor();
      return admin.locator('#state-status').textContent();
    };
    expect(await stateOf(1)).to.equal('active');
    expect(await stateOf(2)).to.equal('revoked');
    const [issuedAt] = await data(admin, '#timeline > li', 'time');
    const beforeLogin = new Date(Date.parse(issuedAt!) - MINUTE).toISOString();
    await admin.fill('#state-at', beforeLogin);
    await admin.click('#state-form button[type="submit"]');
    await admin.locator(`#state-line time[datetime="${beforeLogin}"]`).waitFor();
    expect(await admin.locator('#state-status').textContent()).to.equal('unknown');
    await stateOf(2);
    await shot(admin, 'demo-audit-timeline.png');

    expect(problems).to.deep.equal([]);
    expect(failures, 'only the wrong password failed').to.deep.equal(['401 POST /login']);
  });
  it("lets an admin see a user's live sessions and revoke one, then all, with a reason", async () => {
    const mine: string[] = [];
    const myFailures: string[] = [];
    const signIn = (agent: string) =>
      fetch(`${demo.url}/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': agent },
        body: JSON.stringify({ username: 'bob', password: 'bob' }),
      }).then(async (response) => (await response.json()) as { access_token: string });
    const laptop = await signIn('Laptop/1.0');
    demo.clock.advance(MINUTE);
    const phone = await signIn('Phone/2.0');
    const me = async (token: string) =>
      (await fetch(`${demo.url}/api/me`, { headers: { Authorization: `Bearer ${token}` } })).status;

    const admin = await openPage(await browser.newContext(), mine, myFailures);
    await admin.goto(`${demo.url}/sessions`);
    await admin.fill('#login-form input[name="username"]', 'admin');
    await admin.fill('#login-form input[name="password"]', 'admin');
    await admin.click('#login-form button[type="submit"]');
    await admin.locator('#who', { hasText: 'admin' }).waitFor();
    await admin.selectOption('#pick-user', 'bob');
    await admin.click('#pick-form button[type="submit"]');
    await admin.locator('#sessions[data-count="2"]').waitFor();
    const clients = await texts(admin, '#sessions tbody td.client');
    expect(clients).to.have.length(2);
    expect(clients[0]).to.include('Phone/2.0');
    expect(clients[1]).to.include('Laptop/1.0');
    expect(await data(admin, '#sessions tbody tr', 'source')).to.deep.equal([
      'password',
      'password',
    ]);
    await shot(admin, 'demo-sessions-console.png');

    // Revoke the newest (the phone) with a reason of the admin's own.
    const [phoneSid] = await data(admin, '#sessions tbody tr', 'sid');
    await admin.fill('#reason', 'lost phone');
    await admin.locator('#sessions tbody tr').nth(0).locator('button.revoke-one').click();
    await admin.locator('#sessions[data-count="1"]').waitFor();
    expect(await admin.locator('#sessions-status').textContent()).to.include('Revoked session');
    expect([await me(phone.access_token), await me(laptop.access_token)]).to.deep.equal([401, 200]);
    const adminSub = demo.auth.subjectOf({ id: 'u-admin', username: 'admin' });
    const [revoked] = (await demo.auth.audit.history({ sid: phoneSid!, type: 'revoked' })).events;
    expect(revoked!.meta).to.include({ actor: adminSub, reason: 'lost phone' });

    // Then every session of bob, with one cut-off.
    await admin.fill('#reason', 'offboarded');
    await admin.click('#revoke-all');
    await admin.locator('#sessions[data-count="0"]').waitFor();
    expect(await admin.locator('#sessions-status').textContent()).to.equal('Revoked 1 session.');
    expect(await me(laptop.access_token)).to.equal(401);
    const bob = demo.auth.subjectOf({ id: 'u-bob', username: 'bob' });
    const cut = await demo.auth.audit.history({ sub: bob, type: 'revoked' });
    // Events at the same instant are ordered by stream id, so find the cut-off by its stream.
    const cutOff = cut.events.filter((event) => event.stream === `subject:${bob}`);
    expect(cutOff).to.have.length(1);
    expect(cutOff[0]!.meta).to.include({ actor: adminSub, reason: 'offboarded' });

    expect(mine).to.deep.equal([]);
    expect(myFailures).to.deep.equal([]);
  });
});
