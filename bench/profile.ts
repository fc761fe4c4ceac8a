/**
 * `tsx bench/profile.ts <file.cpuprofile | dir> [top] [--last <seconds>]`: where a V8 CPU profile
 * (from `npm run bench -- --cpu-prof`, or `tsx bench/drive.ts <operation> --profile <dir>`) spent
 * its time: busy time by group (jose, WebCrypto, lib/ledger, Koa...), then self time by package or
 * lib/ file and by function. Given a directory, reads its largest profile (the main thread's; tsx's
 * loader thread writes a small one). `--last` keeps the last seconds only: a server's profile
 * starts with its start-up and ends with the load.
 *
 * Not busy: `(idle)`, and samples in the native `run` of a WebCrypto job (`jobPromise`). Handing a
 * job to the thread pool wakes a pool thread; on a machine with fewer cores than runnable threads
 * the main thread is descheduled right there, and the sampler, which measures wall time, charges
 * that wait to `run`. Its own CPU time there is a few microseconds per call (bench/drive.ts
 * measures the main thread's CPU time directly). Nor is the profiler's own session (`node:inspector`).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { commandLine } from './args.js';

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

/** The group a sample's area belongs to, for the busy-time summary. */
function groupOf(area: string): string {
  if (area === '(garbage collector)') return 'garbage collection';
  if (area === 'node_modules/jose') return 'jose';
  if (
    /^node:internal\/(crypto|webidl)|^node:crypto|Job\)$|^\((digest|update|Hash|Hmac)\)$/.test(area)
  ) {
    return 'node:crypto (WebCrypto calls, hashes, random)';
  }
  const lib = /\/lib\/([^/]+)\//.exec(area)?.[1];
  if (lib && !area.includes('node_modules')) {
    return ['routes', 'middleware'].includes(lib) ? 'lib/routes + lib/middleware' : `lib/${lib}`;
  }
  if (/\/lib\/[^/]+\.ts$/.test(area)) return 'lib/*.ts';
  if (
    /koa|router|body|qs$|type-is|mime|on-finished|delegates|raw-body|inflation|media-typer/.test(
      area,
    )
  ) {
    return 'Koa, router, body parsing';
  }
  if (
    /^node:(_http|net|internal\/streams|events|stream)|^\((writeUtf8String|encodeUtf8String)\)$/.test(
      area,
    )
  ) {
    return 'node:http, streams, events';
  }
  if (area === 'node_modules/canonicalize') return 'canonicalize';
  if (
    /^node:(internal\/encoding|buffer|internal\/worker)$|^\((btoa|base64urlSlice|structuredClone)\)$/.test(
      area,
    )
  ) {
    return 'structuredClone, TextEncoder, base64';
  }
  if (area.startsWith('node_modules/@opentelemetry')) return 'OpenTelemetry API';
  return 'other (V8, Node internals, bench driver)';
}

const USAGE = `usage: tsx bench/profile.ts <file.cpuprofile | dir> [top] [--last <seconds>]

  file | dir  a V8 CPU profile, or a directory whose largest profile is read
  top         rows of each table (default 25)
  --last      keep the last seconds of the profile only`;
const cli = commandLine(
  USAGE,
  { last: { type: 'string' } },
  { required: ['<file.cpuprofile | dir>'], max: 2 },
);
const [path = ''] = cli.positionals;
const top = cli.number(cli.positionals[1], 25, 'top');
const last =
  cli.values.last === undefined ? undefined : cli.number(cli.values.last, 0, '--last', false);
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
const byGroup = new Map<string, number>();
/** A sample that is not the main thread working: see the header. */
const waiting = (node: ProfileNode) => {
  // The profiler's own session (bench/drive.ts --profile) is not the work measured either.
  if (node.callFrame.functionName === '(idle)' || node.callFrame.url === 'node:inspector')
    return true;
  if (node.callFrame.functionName !== 'run' || node.callFrame.url !== '') return false;
  const parent = byId.get(parentOf.get(node.id) ?? -1);
  return parent?.callFrame.functionName === 'jobPromise';
};
// Sample times, to keep the last seconds only.
const times: number[] = [];
profile.samples.reduce((at, _, i) => (times[i] = at + (profile.timeDeltas[i] ?? 0)), 0);
const from = last === undefined ? -Infinity : (times.at(-1) ?? 0) - last * 1e6;
let total = 0;
let busy = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const delta = profile.timeDeltas[i] ?? 0;
  if (!node || (times[i] ?? 0) < from) return;
  total += delta;
  if (!waiting(node)) {
    busy += delta;
    add(byGroup, groupOf(area(node.callFrame.url, node.callFrame.functionName)), delta);
  }
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

const print = (title: string, map: Map<string, number>, of = total) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * micros) / of).toFixed(1).padStart(5)}%  ${name}`);
  }
};
console.log(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy ` +
    `(${((100 * busy) / total).toFixed(0)}%)`,
);
print('Busy time by group (share of busy time)', byGroup, busy);
print('Self time by area', selfByArea);
print('Self time by function', selfByFunction);
print('Inclusive time of lib/ functions', inclusiveByFunction);
