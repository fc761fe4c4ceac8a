import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { startDemo, type RunningDemo } from './support.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

describe('demo audit timeline after an erasure, in headless Chromium [MongoDB]', function () {
  this.timeout(60_000);
  let demo: RunningDemo;
  let browser: Browser;

  before(async () => {
    demo = await startDemo('demo_erased');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  it("shows an erased subject's history with its personal data marked erased", async () => {
    const login = await fetch(`${demo.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ErasureProbe/1.0' },
      body: JSON.stringify({ username: 'alice', password: 'alice' }),
    });
    expect(login.status).to.equal(200);
    demo.clock.advance(60_000);
    await demo.auth.erase({ id: 'u-alice', username: 'alice' }, { actor: 'dpo' });
    demo.clock.advance(60_000);

    const page = await (await browser.newContext()).newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(`${demo.url}/audit`);
    await page.fill('#login-form input[name="username"]', 'admin');
    await page.fill('#login-form input[name="password"]', 'admin');
    await page.click('#login-form button[type="submit"]');
    await page.locator('#chain-badge.ok').waitFor();
    await page.selectOption('#lookup-kind', 'username');
    await page.fill('#lookup-value', 'alice');
    await page.click('#lookup-form button[type="submit"]');
    await page.locator('#timeline > li').nth(2).waitFor();

    const types = await page
      .locator('#timeline > li')
      .evaluateAll((nodes) =>
        nodes.map((node) => (node as unknown as { dataset: { type: string } }).dataset.type),
      );
    expect(types).to.deep.equal(['issued', 'revoked', 'erased']);
    const first = (await page.locator('#timeline > li').nth(0).textContent()) ?? '';
    expect(first).to.include('Personal data').and.include('erased');
    expect(first).to.not.include('ErasureProbe');
    expect(problems).to.deep.equal([]);
  });
});
