import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { optionsSchema } from '../lib/config.js';

describe('README', () => {
  it('documents every option of the options schema in its options table, and no other', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split('## Options')[1]?.split('\n## ')[0] ?? '';
    const documented = [...section.matchAll(/^\| `([A-Za-z]+)` +\|/gm)].map((m) => m[1]);
    expect(documented).to.have.members(Object.keys(optionsSchema.properties));
  });
});
