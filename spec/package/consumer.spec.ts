import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { cleanEnv, exec, makeConsumerApp, type ConsumerApp } from './consumer.js';
import { unexportedPublicTypes } from './public-types.js';
import { readmeContract, type ReadmeContract } from './readme.js';

/** Node runs `.ts` files as they are from 22.18 on; older ones run what `tsc` emitted. */
const stripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts the quick start and resolves once it says it is listening. */
function startQuickstart(dir: string, port: number): Promise<ChildProcess> {
  const file = stripsTypes ? 'quickstart.ts' : join('build', 'quickstart.js');
  const child = spawn(process.execPath, [file], { cwd: dir, env: cleanEnv({ PORT: `${port}` }) });
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`quickstart exited ${code}:\n${output}`)));
  });
}

describe('the packed package in a consumer app', function () {
  this.timeout(120_000);
  let readme: ReadmeContract;
  let app: ConsumerApp;

  before(async () => {
    readme = await readmeContract();
    app = await makeConsumerApp(readme.installs, { 'quickstart.ts': readme.quickstart });
  });
  after(() => app?.remove());

  it('typechecks a strict app, the README quick start included, with only the install lines', async () => {
    const tsc = await exec(join(app.dir, 'node_modules', '.bin', 'tsc'), ['-p', '.'], app.dir);
    expect(tsc.stdout + tsc.stderr).to.equal('');
    expect(tsc.code).to.equal(0);
  });

  it('runs login hook, protected route, refresh, revocation and history on the memory store', async () => {
    const run = await exec(process.execPath, [join('build', 'flow.js')], app.dir);
    expect(run.stderr).to.equal('');
    expect(JSON.parse(run.stdout)).to.deep.equal({
      statuses: [200, 200, 200, 200, 401],
      subMatches: true,
      username: 'alice',
      history: ['issued', 'refreshed', 'revoked'],
      lineage: ['access', 'access', 'refresh', 'refresh'],
      firstTokenKnown: true,
    });
  });

  it('runs the README quick start as pasted, and its curl walk-through', async () => {
    const port = await freePort();
    const child = await startQuickstart(app.dir, port);
    try {
      const base = `http://localhost:${port}`;
      const statuses: number[] = [];
      const call = async (path: string, init: RequestInit = {}) => {
        const response = await fetch(base + path, init);
        statuses.push(response.status);
        const text = await response.text();
        return (text === '' ? {} : JSON.parse(text)) as Record<string, string>;
      };
      const bearer = (token?: string) => ({ authorization: `Bearer ${token}` });
      const first = await call('/login', { method: 'POST' });
      await call('/api/me', { headers: bearer(first['access_token']) });
      const refresh = new URLSearchParams({ refresh_token: first['refresh_token'] ?? '' });
      const second = await call('/token/refresh', { method: 'POST', body: refresh });
      const revoke = new URLSearchParams({ token: second['refresh_token'] ?? '' });
      await call('/token/revocation', {
        method: 'POST',
        headers: bearer(second['access_token']),
        body: revoke,
      });
      await call('/api/me', { headers: bearer(second['access_token']) });
      expect(statuses).to.deep.equal([200, 200, 200, 200, 401]);

      const script = readme.walkthrough.replaceAll('http://localhost:3000', base);
      const shell = await exec('bash', ['-euo', 'pipefail', '-c', script], app.dir);
      expect(shell.code, shell.stderr).to.equal(0);
      expect(shell.stdout).to.match(/"username":"alice"/);
      expect(shell.stdout).to.match(/HTTP\/1\.1 401 Unauthorized/);
    } finally {
      child.kill();
    }
  });

  it('exports every type that its public declarations use', () => {
    const entry = join(app.dir, 'node_modules', 'koa-jwtconnect', 'dist', 'index.d.ts');
    expect(unexportedPublicTypes(entry)).to.deep.equal([]);
  });

  it('never imports koa at run time, and ships source maps that carry their sources', async () => {
    const dist = join(app.dir, 'node_modules', 'koa-jwtconnect', 'dist');
    const files = (await readdir(dist, { recursive: true })).map((file) => join(dist, file));
    const scripts = files.filter((file) => file.endsWith('.js'));
    expect(scripts).to.not.be.empty;
    for (const file of scripts) {
      const text = await readFile(file, 'utf8');
      expect(text, file).to.not.match(/\bfrom ['"]koa['"]|import\(['"]koa['"]\)/);
      const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sourcesContent?: [] };
      expect(map.sourcesContent, `${file}.map`).to.have.length(1);
    }
    expect(files.filter((file) => /\.ts$/.test(file) && !file.endsWith('.d.ts'))).to.be.empty;
  });
});
