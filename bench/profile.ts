/**
 * `tsx bench/profile.ts <file.cpuprofile | dir> [top]`: where a V8 CPU profile (from `npm run bench --
 * --cpu-prof`) spent its time: self time by function, and by package or lib/ file. Given a
 * directory, reads its largest profile (the main thread's; tsx's loader thread writes a small one).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `lib/ledger/memory-store.ts`, `node_modules/jose`, `node:internal`, or `(idle)` and the like. */
function area(url: string, name: string): string {
  if (url === '') return `(${name.replace(/[()]/g, '') || 'native'})`;
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (module) return `node_modules/${module}`;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url.replace(/^file:\/\/\/work\/main\//, '').replace(/^file:\/\//, '');
}

async function largestProfile(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return path;
  const files = (await readdir(path)).filter((name) => name.endsWith('.cpuprofile'));
  const sized = await Promise.all(
    files.map(async (name) => ({ name, size: (await stat(join(path, name))).size })),
  );
  const [largest] = sized.sort((a, b) => b.size - a.size);
  if (!largest) throw new Error(`no .cpuprofile in ${path}`);
  return join(path, largest.name);
}

const [path, top = '25'] = process.argv.slice(2);
if (!path) throw new TypeError('usage: tsx bench/profile.ts <file.cpuprofile | dir> [top]');
const file = await largestProfile(path);
const profile = JSON.parse(await readFile(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parentOf.set(child, node.id);
const selfByFunction = new Map<string, number>();
const selfByArea = new Map<string, number>();
/** Time with the function on the stack (once per sample): lib/ functions only. */
const inclusiveByFunction = new Map<string, number>();
const add = (map: Map<string, number>, key: string, micros: number) =>
  map.set(key, (map.get(key) ?? 0) + micros);
const nameOf = (node: ProfileNode) => {
  const { functionName, url, lineNumber, columnNumber } = node.callFrame;
  // tsx emits each module on one line, so the column tells functions of one file apart.
  return `${functionName || '(anonymous)'}  ${area(url, functionName)}:${lineNumber + 1}:${columnNumber + 1}`;
};
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const delta = profile.timeDeltas[i] ?? 0;
  if (!node) return;
  total += delta;
  add(selfByFunction, nameOf(node), delta);
  add(selfByArea, area(node.callFrame.url, node.callFrame.functionName), delta);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at);
    if (
      !frame ||
      !/^file:.*\/lib\//.test(frame.callFrame.url) ||
      frame.callFrame.url.includes('node_modules')
    )
      continue;
    const name = nameOf(frame);
    if (!seen.has(name)) add(inclusiveByFunction, name, delta);
    seen.add(name);
  }
});

const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((100 * micros) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
};
console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
print('Self time by area', selfByArea);
print('Self time by function', selfByFunction);
print('Inclusive time of lib/ functions', inclusiveByFunction);
