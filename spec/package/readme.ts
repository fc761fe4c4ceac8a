/**
 * The README's Install and Quick start sections as the consumer test runs them: the `npm install`
 * lines of the Install block, the quick start's TypeScript block and its shell walk-through.
 */
import { readFile } from 'node:fs/promises';

export interface ReadmeContract {
  /** Each `npm install ...` line, split into arguments after `npm`. */
  installs: string[][];
  quickstart: string;
  walkthrough: string;
}

function section(readme: string, title: string): string {
  const body = readme.split(`\n## ${title}\n`)[1]?.split('\n## ')[0];
  if (body === undefined) throw new Error(`README.md has no "## ${title}" section`);
  return body;
}

function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```$', 'gm'))].map(
    (match) => match[1] ?? '',
  );
}

export async function readmeContract(): Promise<ReadmeContract> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const install = blocks(section(readme, 'Install'), 'sh');
  const quick = section(readme, 'Quick start');
  const ts = blocks(quick, 'ts');
  const sh = blocks(quick, 'sh');
  if (install.length !== 1 || ts.length !== 1 || sh.length !== 1) {
    throw new Error('README.md: Install needs one sh block; Quick start one ts and one sh block');
  }
  const installs = (install[0] ?? '')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('npm install '))
    .map((line) => line.split(/\s+/).slice(1));
  return { installs, quickstart: ts[0] ?? '', walkthrough: sh[0] ?? '' };
}
