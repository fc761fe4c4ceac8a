/**
 * `npm run bench [-- --quick] [-- --only <text>,<text>] [-- --cpu-prof]`
 *
 * Starts each server in its own child process, loads it with autocannon on loopback (50
 * connections), reads its peak RSS, stops it; then runs the ledger benchmark per store, and counts
 * the MongoDB commands and round trips of each operation (bench/command-counts.ts). Writes
 * bench/results/latest.json and latest.md. `--only` keeps the scenarios whose label contains one of
 * the texts and writes partial.* instead; `--cpu-prof` writes V8 CPU profiles of every child into
 * bench/results/profiles/<label>/ (read them with `tsx bench/profile.ts`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startTestServer, type TestServer } from '../spec/support/mongo-server.js';
import { commandLine } from './args.js';
import { CommandRecorder, countOperations, OPERATIONS, type CountRow } from './command-counts.js';
import type { LedgerResult, LedgerSettings } from './ledger.js';
import { writeReport, type Report, type Row } from './report.js';
import { CONNECTIONS, httpScenarios, labelOf, type HttpScenario } from './scenarios.js';
import type { Minted, MintRequest, ServerSettings } from './servers/child.js';

const USAGE = `usage: npm run bench [-- --quick] [-- --only <text>,<text>] [-- --cpu-prof]
       (or: tsx bench/run.ts [--quick] [--only <text>,<text>] [--cpu-prof])

  --quick     2 s per server, one round, a smaller ledger log
  --only      the scenarios whose label contains one of the texts; writes partial.*
  --cpu-prof  V8 CPU profiles of every child in bench/results/profiles/<label>/`;
const cli = commandLine(USAGE, {
  quick: { type: 'boolean', default: false },
  only: { type: 'string' },
  'cpu-prof': { type: 'boolean', default: false },
});
const quick = cli.values.quick;
const only = cli.values.only?.split(',');
const selected = (label: string) => !only || only.some((text) => label.includes(text));
const cpuProf = cli.values['cpu-prof'];

/**
 * The MongoDB ledger runs on a smaller log to fit the time budget: without MONGODB_URI or a
 * downloadable mongod, the server is FerretDB v1 on SQLite, which manages ~30 ledger appends/s.
 */
const MODE = quick
  ? {
      warmup: 1,
      duration: 2,
      rounds: 1,
      ledger: {
        memory: { events: 10_000, queries: 60, appends: 1_000 },
        mongo: { events: 500, queries: 24, appends: 60 },
      },
    }
  : {
      warmup: 3,
      duration: 10,
      rounds: 2,
      ledger: {
        memory: { events: 100_000, queries: 300, appends: 5_000 },
        mongo: { events: 2_000, queries: 30, appends: 100 },
      },
    };
const RESULTS = new URL('./results/', import.meta.url);
const ISSUER = 'https://auth.bench.example';

/** A child process speaking the bench/servers/child.ts protocol, with its output kept for notes. */
class Child {
  readonly process: ChildProcess;
  readonly output: string[] = [];
  #requests = 0;

  constructor(file: string, settings: unknown, label: string) {
    // One directory per child: tsx's loader thread writes a profile of its own next to the main one.
    const dir = new URL(`profiles/${label.replace(/[^\w.=-]+/g, '_')}/`, RESULTS);
    const profile = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(dir)}`] : [];
    this.process = fork(fileURLToPath(new URL(file, import.meta.url)), [JSON.stringify(settings)], {
      execArgv: ['--import', 'tsx', ...profile],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [this.process.stdout, this.process.stderr]) {
      stream?.on('data', (chunk: Buffer) =>
        this.output.push(...chunk.toString().split('\n').filter(Boolean)),
      );
    }
  }

  /** The next IPC message of `type`; rejects if the child exits first. */
  next<T>(type: string, id?: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: { type: string; id?: number }) => {
        if (message.type !== type || message.id !== id) return;
        this.process.off('exit', onExit);
        this.process.off('message', onMessage);
        resolve(message as T);
      };
      const onExit = (code: number | null) =>
        reject(
          new Error(
            `child exited (${code}) before "${type}":\n${this.output.slice(-20).join('\n')}`,
          ),
        );
      this.process.on('message', onMessage);
      this.process.once('exit', onExit);
    });
  }

  async mint(request: MintRequest): Promise<Minted> {
    const id = ++this.#requests;
    const reply = this.next<{ minted?: Minted; error?: string }>('minted', id);
    this.process.send({ type: 'mint', id, request });
    const { minted, error } = await reply;
    if (!minted) throw new Error(`minting failed: ${error}`);
    return minted;
  }

  /** CPU time the child has used so far (user + system), in milliseconds. */
  async cpuMs(): Promise<number> {
    const id = ++this.#requests;
    const reply = this.next<{ micros: number }>('cpu', id);
    this.process.send({ type: 'cpu', id });
    return (await reply).micros / 1000;
  }

  /** Peak resident set size (VmHWM) so far, in MB. */
  async peakRssMb(): Promise<number> {
    const status = await readFile(`/proc/${this.process.pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
    return Math.round(kb / 102.4) / 10;
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.send({ type: 'stop' });
    await exited;
  }

  /** Lines that look like warnings or notices (oidc-provider's, Node's). */
  warnings(): string[] {
    return [...new Set(this.output.filter((line) => /warn|notice|deprecat/i.test(line)))];
  }
}

function keyPair(alg: ServerSettings['alg']) {
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
  };
}

function load(url: string, duration: number, requests: autocannon.Request[]) {
  return autocannon({ url, connections: CONNECTIONS, duration, requests });
}

async function runHttp(
  scenario: HttpScenario,
  mongo: TestServer | undefined,
  index: number,
): Promise<Row> {
  const label = labelOf(scenario);
  const settings: ServerSettings = {
    ...KEYS[scenario.settings.alg ?? 'RS256'],
    alg: scenario.settings.alg ?? 'RS256',
    issuer: ISSUER,
    ...scenario.settings,
    ...(scenario.store === 'mongo' && { mongoUri: mongo?.uri, dbName: `bench_${index}` }),
  };
  const child = new Child(`./servers/${scenario.server}.ts`, settings, label);
  try {
    const { port } = await child.next<{ port: number }>('ready');
    const url = `http://127.0.0.1:${port}`;
    const warmupTokens = await child.mint(scenario.mint);
    await load(url, MODE.warmup, scenario.requests(warmupTokens));
    // A refresh the warm-up left in flight must not break the measured chains: they get tokens of
    // their own. Tokens that are only presented serve both (minting on FerretDB takes seconds).
    const tokens = scenario.spendsTokens ? await child.mint(scenario.mint) : warmupTokens;
    const cpuBefore = await child.cpuMs();
    const result = await load(url, MODE.duration, scenario.requests(tokens));
    const cpuMs = (await child.cpuMs()) - cpuBefore;
    const row: Row = {
      scenario: scenario.scenario,
      impl: scenario.impl,
      store: scenario.store,
      ...(scenario.variant !== undefined && { variant: scenario.variant }),
      // Answers that did their job: a peer failing part of its load must not count it as speed.
      rps: Math.round(result['2xx'] / result.duration),
      p50_ms: result.latency.p50,
      p99_ms: result.latency.p99,
      // The server's own work per answer: unlike req/s, barely moved by other load on the machine.
      cpu_ms_per_2xx: Math.round((cpuMs / Math.max(1, result['2xx'])) * 1000) / 1000,
      rss_mb: await child.peakRssMb(),
      non2xx: result.non2xx,
      errors: result.errors,
    };
    const warnings = child.warnings();
    if (warnings.length > 0) row.warnings = warnings;
    console.log(
      `${label.padEnd(52)} ${String(row.rps).padStart(7)} req/s  p50 ${row.p50_ms} ms  p99 ${row.p99_ms} ms  rss ${row.rss_mb} MB  cpu ${String(row['cpu_ms_per_2xx'])} ms/req${result.non2xx || result.errors ? `  NON-2XX ${result.non2xx} ERRORS ${result.errors}` : ''}`,
    );
    return row;
  } finally {
    await child.stop();
  }
}

/** One row for a scenario measured in several rounds: means, the peak RSS, and every round's rps. */
function mergeRounds(measured: Row[]): Row {
  const [first] = measured;
  if (!first || measured.length === 1) return first as Row;
  const mean = (key: 'rps' | 'p50_ms' | 'p99_ms') =>
    Math.round(measured.reduce((sum, row) => sum + (row[key] ?? 0), 0) / measured.length);
  return {
    ...first,
    rps: mean('rps'),
    p50_ms: mean('p50_ms'),
    p99_ms: mean('p99_ms'),
    rss_mb: Math.max(...measured.map((row) => row.rss_mb)),
    cpu_ms_per_2xx:
      Math.round(
        (measured.reduce((sum, row) => sum + Number(row['cpu_ms_per_2xx']), 0) / measured.length) *
          1000,
      ) / 1000,
    rps_rounds: measured.map((row) => row.rps),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const value =
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
  return Math.round(value * 100) / 100;
}

async function runLedger(store: 'memory' | 'mongo', mongo: TestServer | undefined): Promise<Row[]> {
  const settings: LedgerSettings = {
    store,
    ...MODE.ledger[store],
    ...(store === 'mongo' && { mongoUri: mongo?.uri, dbName: 'bench_ledger' }),
    ...(cpuProf && { profileDir: fileURLToPath(new URL(`profiles/ledger_${store}/`, RESULTS)) }),
  };
  const child = new Child('./ledger.ts', settings, `ledger ${store}`);
  try {
    const { result } = await child.next<{ result: LedgerResult }>('result');
    const rss_mb = await child.peakRssMb();
    const { seed, rebuild, audit, appends } = result;
    const base = { impl: 'ours' as const, store, rss_mb, events: seed.events };
    const rows: Row[] = [
      {
        ...base,
        scenario: 'ledger-append',
        rps: Math.round(appends.count / appends.seconds),
        ...(appends.failed > 0 && { failed: appends.failed }),
        p50_ms: percentile(appends.latenciesMs, 50),
        p99_ms: percentile(appends.latenciesMs, 99),
      },
      {
        ...base,
        scenario: 'ledger-rebuild',
        rps: Math.round(rebuild.events / rebuild.seconds),
        seconds: Math.round(rebuild.seconds * 100) / 100,
        seed_seconds: Math.round(seed.seconds * 10) / 10,
      },
      {
        ...base,
        scenario: 'ledger-audit',
        rps: Math.round(audit.queries / (audit.latenciesMs.reduce((a, b) => a + b, 0) / 1000)),
        p50_ms: percentile(audit.latenciesMs, 50),
        p99_ms: percentile(audit.latenciesMs, 99),
        p99_by_query: Object.fromEntries(
          Object.entries(audit.byKind).map(([kind, values]) => [kind, percentile(values, 99)]),
        ),
      },
    ];
    for (const row of rows)
      console.log(
        `${labelOf(row).padEnd(52)} ${JSON.stringify({ ...row, scenario: undefined, impl: undefined, store: undefined })}`,
      );
    return rows;
  } finally {
    await child.stop();
  }
}

/** The label `--only` selects the command counts by. */
const COUNTS_LABEL = 'commands ours mongo';

/**
 * Commands and round trips per operation (bench/command-counts.ts), in this process, on a database
 * of its own; each of ours' default MongoDB rows gets those of the operation its requests do.
 */
async function countCommands(mongo: TestServer, measuredRows: Row[]): Promise<CountRow[]> {
  const recorder = await CommandRecorder.open(mongo.uri, 'bench_command_counts');
  let counts: CountRow[];
  try {
    counts = await countOperations(recorder);
  } finally {
    await recorder.dispose();
  }
  for (const count of counts) {
    console.log(
      `${`${COUNTS_LABEL}: ${count.label}`.padEnd(52)} ${count.commands} commands, ${count.round_trips} round trips (budget ${count.budget.max} ${count.budget.of})`,
    );
  }
  for (const row of measuredRows) {
    if (row.impl !== 'ours' || row.store !== 'mongo') continue;
    if (row.variant !== undefined && row.variant !== 'per-request') continue;
    const operation = OPERATIONS.find(
      (candidate) => 'scenario' in candidate && row.scenario.startsWith(candidate.scenario),
    );
    const count = counts.find((candidate) => candidate.id === operation?.id);
    if (count) Object.assign(row, { commands: count.commands, round_trips: count.round_trips });
  }
  return counts;
}

const started = performance.now();
const KEYS = { RS256: keyPair('RS256'), ES256: keyPair('ES256') };
const scenarios = httpScenarios()
  .map((scenario, index) => ({ scenario, index }))
  .filter(({ scenario }) => selected(labelOf(scenario)));
const ledgerStores = (['memory', 'mongo'] as const).filter((store) => selected(`ledger ${store}`));
const countingCommands = selected(COUNTS_LABEL);
const needsMongo =
  scenarios.some(({ scenario }) => scenario.store === 'mongo') ||
  ledgerStores.includes('mongo') ||
  countingCommands;
const loadBefore = loadavg();
// Offline, mongodb-memory-server's mongod download fails; one attempt keeps that short.
process.env['MONGOMS_MAX_RETRIES'] ??= '1';
const mongo = needsMongo ? await startTestServer() : undefined;
if (mongo) console.log(`MongoDB: ${mongo.kind}`);
const rows: Row[] = [];
let commandCounts: CountRow[] | undefined;
try {
  const rounds = new Map<number, Row[]>();
  for (const { scenario, index } of scenarios) {
    rounds.set(index, [await runHttp(scenario, mongo, index)]);
  }
  // Other work on the machine comes and goes: a second round in reverse order, each ratio taken
  // within a round (ours and its peer back to back). Not for MongoDB: FerretDB is the bottleneck.
  for (let round = 2; round <= MODE.rounds; round++) {
    for (const { scenario, index } of [...scenarios].reverse()) {
      if (scenario.store !== 'mongo')
        rounds.get(index)?.push(await runHttp(scenario, mongo, index));
    }
  }
  for (const measured of rounds.values()) rows.push(mergeRounds(measured));
  for (const store of ledgerStores) rows.push(...(await runLedger(store, mongo)));
  if (mongo && countingCommands) commandCounts = await countCommands(mongo, rows);
} finally {
  await mongo?.stop();
}
const report: Report = {
  node: process.version,
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? 'unknown',
  mode: quick ? 'quick' : 'full',
  date: new Date().toISOString(),
  wall_seconds: Math.round((performance.now() - started) / 1000),
  load_average: { before: loadBefore, after: loadavg() },
  mongo: mongo?.kind ?? 'not used',
  connections: CONNECTIONS,
  duration_seconds: MODE.duration,
  rounds: MODE.rounds,
  results: rows,
  ...(commandCounts && {
    command_counts: commandCounts,
    command_counts_note: `counted on ${mongo?.kind ?? 'MongoDB'} with the driver's command monitoring: commands and sequential round trips are the same on any MongoDB-compatible server, unlike times`,
  }),
};
// A partial run (--only) never overwrites the full table.
const name = only ? 'partial' : 'latest';
await writeReport(report, RESULTS, name);
console.log(`Wrote bench/results/${name}.json and ${name}.md in ${report.wall_seconds} s.`);
