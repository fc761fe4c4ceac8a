/**
 * The package's public surface: what `lib/index.ts` exports is what the README's API reference
 * documents, and the ledger with its stores stays out of it (a storage change is then no breaking
 * change for hosts).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import ts from 'typescript';
import * as errors from '../lib/errors.js';
import { jwtconnect } from '../lib/jwtconnect.js';
import { fakeClock } from './support/clock.js';
import { SUBJECT_SECRET, TEST_ISSUER, quietLogger } from './support/plugin.js';

/** Every name `lib/index.ts` exports, values and types alike, as a host's compiler sees them. */
function entryExports(): string[] {
  const entry = fileURLToPath(new URL('../lib/index.ts', import.meta.url));
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  const module = source && checker.getSymbolAtLocation(source);
  if (!module) throw new Error(`no module at ${entry}`);
  return checker.getExportsOfModule(module).map((symbol) => symbol.getName());
}

/** Names in backticks in the first column of the README's table of other exports. */
async function documentedExports(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.split('\n## API reference\n')[1]?.split('\n## ')[0] ?? '';
  const table = section.split('Other exports of `koa-jwtconnect`')[1] ?? '';
  const rows = [...table.matchAll(/^\| (.+?) +\| .+\|$/gm)].map((m) => m[1] ?? '');
  return rows.flatMap((cell) => [...cell.matchAll(/`(\w+)`/g)].map((m) => m[1] ?? ''));
}

/** The error classes, which the README's table covers as "`JwtConnectError` and its subclasses". */
const errorClasses = Object.entries(errors)
  .filter(([, value]) => typeof value === 'function' && 'code' in value)
  .map(([name]) => name);

describe('the public surface (lib/index.ts)', () => {
  let exported: string[];
  before(function () {
    this.timeout(60_000);
    exported = entryExports();
  });

  it('is what the README API reference lists, and no more', async () => {
    const documented = [...(await documentedExports()), ...errorClasses];
    expect(exported).to.have.members(documented);
  });

  it('keeps the ledger, its stores and their tuning internal', () => {
    const internal = ['Ledger', 'MemoryStore', 'MongoStore', 'TOKEN_RETENTION_MS', 'EventDraft'];
    for (const name of internal) expect(exported, name).to.not.include(name);
    expect(exported).to.include('LedgerStore');
  });

  it('gives a plugin instance no ledger member', async () => {
    const auth = await jwtconnect({
      issuer: TEST_ISSUER,
      keys: { secret: randomBytes(32), alg: 'HS256' },
      subjectSecret: SUBJECT_SECRET,
      store: { memory: true },
      clock: fakeClock(),
      logger: quietLogger,
    });
    try {
      expect(Object.keys(auth)).to.not.include('ledger');
      expect(auth).to.not.have.property('ledger');
    } finally {
      await auth.close();
    }
  });
});
