import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { optionsSchema } from '../lib/config.js';
import * as errors from '../lib/errors.js';

async function readmeSection(heading: string): Promise<string> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  return readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? '';
}

/** Every error class lib/errors.ts exports, each constructed as the plugin would. */
function errorClasses(): { name: string; error: errors.JwtConnectError }[] {
  return Object.entries(errors)
    .filter(([, value]) => typeof value === 'function' && 'code' in value)
    .map(([name, value]) => {
      const ErrorClass = value as unknown as new (message: string) => errors.JwtConnectError;
      return { name, error: new ErrorClass('message') };
    });
}

describe('README', () => {
  it('documents every option of the options schema in its options table, and no other', async () => {
    const section = await readmeSection('Options');
    const documented = [...section.matchAll(/^\| `([A-Za-z]+)` +\|/gm)].map((m) => m[1]);
    expect(documented).to.have.members(Object.keys(optionsSchema.properties));
  });

  it('lists every error code lib/errors.ts exports in its error table, and no other', async () => {
    const section = await readmeSection('Errors');
    const documented = [...section.matchAll(/^\| `(ERR_[A-Z_]+)` +\|/gm)].map((m) => m[1]);
    const exported = errorClasses().map(({ error }) => error.code);
    expect(exported).to.not.be.empty;
    expect(documented).to.have.members(exported);
  });

  it('gives each error code the class, HTTP status and OAuth error the class has', async () => {
    const section = await readmeSection('Errors');
    const rows = new Map(
      [...section.matchAll(/^\| `(ERR_[A-Z_]+)` +\| `(\w+)` +\| (\d{3}) +\| `(\w+)` +\|/gm)].map(
        (m) => [m[1], { name: m[2], status: Number(m[3]), error: m[4] }],
      ),
    );
    for (const { name, error } of errorClasses()) {
      expect(rows.get(error.code), error.code).to.deep.equal({
        name,
        status: error.status,
        error: error.error,
      });
    }
  });
});
