/**
 * The report: latest.json as measured, and latest.md with every result of ours as a ratio to the
 * peers of its scenario and the target set for it, met or missed (rows on FerretDB: a functional
 * check only), and the MongoDB commands per operation (bench/command-counts.ts). With several rounds, req/s and
 * latencies are means over the rounds and ratios are taken round by round.
 * `tsx bench/report.ts [name]` rewrites <name>.md from bench/results/<name>.json.
 */
import { readFile, mkdir, writeFile } from 'node:fs/promises';
import { commandLine } from './args.js';
import { countsTable, type CountRow } from './command-counts.js';
import { labelOf, OTEL_SDK, PERSONAL_DATA_IN_CLEAR } from './scenarios.js';

export interface Row {
  scenario: string;
  impl: 'ours' | 'ceiling' | 'koa-jwt' | 'oidc-provider';
  store: 'memory' | 'mongo' | 'none';
  variant?: string;
  /** Requests/s; for ledger rows: appends/s, events/s (rebuild), queries/s (audit, one at a time). */
  rps: number;
  p50_ms?: number;
  p99_ms?: number;
  rss_mb: number;
  [extra: string]: unknown;
}

export interface Report {
  node: string;
  cpus: number;
  cpu_model: string;
  mode: 'quick' | 'full';
  date: string;
  wall_seconds: number;
  load_average: { before: number[]; after: number[] };
  mongo: string;
  connections: number;
  duration_seconds: number;
  /** Rounds per HTTP scenario (the best kept); MongoDB ones run once. */
  rounds?: number;
  results: Row[];
  /** MongoDB commands and sequential round trips per operation (bench/command-counts.ts). */
  command_counts?: CountRow[];
  /** Where the counts come from, and why they hold on any MongoDB-compatible server. */
  command_counts_note?: string;
}

interface Target {
  /** The peer compared with, and the ratio ours must reach. */
  peer: Row['impl'];
  ratio: number;
  /** Which of ours' rows it applies to (default: all of the scenario). */
  applies?: (row: Row) => boolean;
}

const cacheOff = (row: Row) => row.variant?.includes('verifyCache off') ?? false;

/** The Bearer check: above the ceiling with the verified-token cache, near it without. */
const BEARER: Target[] = [
  { peer: 'ceiling', ratio: 1.5, applies: (row) => !cacheOff(row) },
  { peer: 'ceiling', ratio: 0.9, applies: cacheOff },
];

/** The targets, by scenario: the ratio to a peer each result must reach. */
const TARGETS: Record<string, Target[]> = {
  'authenticate-rs256': [...BEARER, { peer: 'koa-jwt', ratio: 3.5 }],
  'authenticate-es256': BEARER,
  issue: [{ peer: 'ceiling', ratio: 0.9 }],
  introspection: [{ peer: 'oidc-provider', ratio: 2 }],
  refresh: [{ peer: 'oidc-provider', ratio: 1.0 }],
};
const PEERS: Row['impl'][] = ['ceiling', 'koa-jwt', 'oidc-provider'];

/**
 * What a feature costs: ours with it against ours without it, same scenario and store, run back to
 * back. The cost is the throughput lost to the feature's CPU time, 1 - without / with (server CPU
 * ms per answer), and must stay under `goal`; req/s on a shared machine swings by more than the
 * goals, so it is shown but not judged.
 */
interface Cost {
  feature: string;
  scenario: string;
  store: Row['store'];
  /** The variants of the two rows (undefined: the default row). */
  with: string | undefined;
  without: string | undefined;
  goal: number;
}
const COSTS: Cost[] = [
  {
    feature: 'OpenTelemetry SDK (metrics, spans)',
    scenario: 'authenticate-rs256',
    store: 'memory',
    with: OTEL_SDK,
    without: 'per-request',
    goal: 0.03,
  },
  ...['issue', 'refresh'].map((scenario) => ({
    feature: 'personal-data encryption',
    scenario,
    store: 'memory' as const,
    with: undefined,
    without: PERSONAL_DATA_IN_CLEAR,
    goal: 0.1,
  })),
];

const fmt = (value: number | undefined) => (value === undefined ? '' : String(value));
const ms = (value: unknown) => (typeof value === 'number' ? String(value) : '');

function oursLabel(row: Row): string {
  return `ours (${row.store}${row.variant ? `, ${row.variant}` : ''})`;
}

const roundsOf = (row: Row) => (row['rps_rounds'] as number[] | undefined) ?? [row.rps];

/** Mean rps, and each round's when there were several. */
function rpsCell(row: Row): string {
  const rounds = roundsOf(row);
  return rounds.length > 1 ? `${row.rps} (${rounds.join(' / ')})` : String(row.rps);
}

/**
 * Ours / peer, taken within each round (the two ran back to back), then the geometric mean of the
 * rounds. A row measured once (MongoDB) is compared with the peer's first round.
 */
function ratioOf(ours: Row, peer: Row): { ratio: number; perRound: number[] } {
  const oursRounds = roundsOf(ours);
  const peerRounds = roundsOf(peer);
  const perRound = oursRounds.map((rps, i) => rps / (peerRounds[i] ?? Number.NaN));
  const ratio = Math.exp(perRound.reduce((sum, r) => sum + Math.log(r), 0) / perRound.length);
  return { ratio, perRound };
}

/**
 * Rows that ran on FerretDB check that ours works there (every answer 2xx), nothing more: it scans
 * whole collections for every query, so its speed says nothing about MongoDB's.
 */
function functionalCheck(row: Row): string {
  const failed = Number(row['non2xx'] ?? 0) + Number(row['errors'] ?? 0);
  return failed === 0 ? 'functional check: ok' : `functional check: ${failed} failed`;
}

function ratioTable(rows: Row[], onFerretDb: boolean): string[] {
  const lines = [
    '| scenario | ours | req/s | p50 ms | p99 ms | RSS MB | vs ceiling | vs koa-jwt | vs oidc-provider | target | met |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|',
  ];
  const scenarios = [
    ...new Set(rows.filter((row) => !row.scenario.startsWith('ledger')).map((row) => row.scenario)),
  ];
  for (const scenario of scenarios) {
    const inScenario = rows.filter((row) => row.scenario === scenario);
    const peerOf = (impl: Row['impl']) => inScenario.find((row) => row.impl === impl);
    for (const peer of inScenario.filter((row) => row.impl !== 'ours')) {
      lines.push(
        `| ${scenario} | *${peer.impl}* | ${rpsCell(peer)} | ${ms(peer.p50_ms)} | ${ms(peer.p99_ms)} | ${peer.rss_mb} | | | | | |`,
      );
    }
    for (const row of inScenario.filter((candidate) => candidate.impl === 'ours')) {
      const ratios = PEERS.map((impl) => {
        const peer = peerOf(impl);
        if (!peer) return '';
        const { ratio, perRound } = ratioOf(row, peer);
        return perRound.length > 1
          ? `${ratio.toFixed(2)}x (${perRound.map((r) => r.toFixed(2)).join(', ')})`
          : `${ratio.toFixed(2)}x`;
      });
      // No target is judged on FerretDB: its rows only show that ours works there.
      const functional = onFerretDb && row.store === 'mongo';
      const targets = functional
        ? []
        : (TARGETS[scenario] ?? []).filter((target) => target.applies?.(row) ?? true);
      const met = functional
        ? [functionalCheck(row)]
        : targets.map((target) => {
            const peer = peerOf(target.peer);
            if (peer === undefined) return '?';
            return ratioOf(row, peer).ratio >= target.ratio ? 'yes' : 'no';
          });
      const label = functional ? `${oursLabel(row)} on FerretDB` : oursLabel(row);
      lines.push(
        `| ${scenario} | ${label} | ${rpsCell(row)} | ${ms(row.p50_ms)} | ${ms(row.p99_ms)} | ${row.rss_mb} | ${ratios.join(' | ')} | ${targets.map((t) => `>= ${t.ratio}x ${t.peer}`).join(', ')} | ${met.join(', ')} |`,
      );
    }
  }
  return lines;
}

function costTable(rows: Row[]): string[] {
  const lines = [
    '| feature | scenario | with | req/s | CPU ms/req | without | req/s | CPU ms/req | req/s with / without | cost (CPU) | goal | met |',
    '|---|---|---|--:|--:|---|--:|--:|--:|--:|--:|---|',
  ];
  const find = (cost: Cost, variant: string | undefined) =>
    rows.find(
      (row) =>
        row.impl === 'ours' &&
        row.scenario === cost.scenario &&
        row.store === cost.store &&
        row.variant === variant,
    );
  for (const cost of COSTS) {
    const withIt = find(cost, cost.with);
    const without = find(cost, cost.without);
    if (!withIt || !without) continue;
    const { ratio, perRound } = ratioOf(withIt, without);
    const rounds = perRound.length > 1 ? ` (${perRound.map((r) => r.toFixed(3)).join(', ')})` : '';
    const cpuWith = withIt['cpu_ms_per_2xx'] as number | undefined;
    const cpuWithout = without['cpu_ms_per_2xx'] as number | undefined;
    const lost =
      cpuWith === undefined || cpuWithout === undefined ? undefined : 1 - cpuWithout / cpuWith;
    const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
    const met = lost === undefined ? '?' : lost < cost.goal ? 'yes' : 'no';
    lines.push(
      `| ${cost.feature} | ${cost.scenario} | ${oursLabel(withIt)} | ${rpsCell(withIt)} | ${ms(cpuWith)} | ${oursLabel(without)} | ${rpsCell(without)} | ${ms(cpuWithout)} | ${ratio.toFixed(3)}${rounds} | ${lost === undefined ? '' : percent(lost)} | < ${percent(cost.goal)} | ${met} |`,
    );
  }
  return lines.length > 2 ? lines : [];
}

function ledgerTable(rows: Row[], onFerretDb: boolean): string[] {
  const lines = [
    '| store | events | seeding s | appends/s | append p50 / p99 ms | rebuild events/s | audit p50 ms | audit p99 ms | RSS MB | targets (rebuild; audit p99 < 20 ms) |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const store of ['memory', 'mongo'] as const) {
    const of = (scenario: string) =>
      rows.find((row) => row.scenario === scenario && row.store === store);
    const [append, rebuild, audit] = [
      of('ledger-append'),
      of('ledger-rebuild'),
      of('ledger-audit'),
    ];
    if (!append || !rebuild || !audit) continue;
    const rebuildTarget = store === 'memory' ? 100_000 : 20_000;
    const failed = Number(append['failed'] ?? 0);
    const met =
      onFerretDb && store === 'mongo'
        ? [`on FerretDB: functional check: ${failed === 0 ? 'ok' : `${failed} appends failed`}`]
        : [
            `rebuild >= ${rebuildTarget / 1000}k/s: ${rebuild.rps >= rebuildTarget ? 'yes' : 'no'}`,
            `audit: ${(audit.p99_ms ?? Infinity) < 20 ? 'yes' : 'no'}`,
          ];
    lines.push(
      `| ${store} | ${fmt(rebuild['events'] as number)} | ${ms(rebuild['seed_seconds'])} | ${append.rps} | ${ms(append.p50_ms)} / ${ms(append.p99_ms)} | ${rebuild.rps} | ${ms(audit.p50_ms)} | ${ms(audit.p99_ms)} | ${append.rss_mb} | ${met.join('; ')} |`,
    );
  }
  return lines;
}

/** `table` under `heading`, or nothing when the table has no rows. */
function withHeading(heading: string, table: string[]): string[] {
  return table.length > 0 ? [heading, '', ...table, ''] : [];
}

export function markdown(report: Report): string {
  const warnings = new Map<string, string[]>();
  for (const row of report.results) {
    for (const line of (row['warnings'] as string[] | undefined) ?? []) {
      warnings.set(line, [...(warnings.get(line) ?? []), `${row.scenario} ${row.impl}`]);
    }
  }
  const onFerretDb = report.mongo.startsWith('FerretDB');
  const failures = report.results.filter(
    (row) => Number(row['non2xx'] ?? 0) > 0 || Number(row['errors'] ?? 0) > 0 || row['failed'],
  );
  return [
    `Measured ${report.date} (${report.mode} run, ${report.wall_seconds} s): Node ${report.node}, ${report.cpus} x ${report.cpu_model}; load average ${report.load_average.before.map((v) => v.toFixed(2)).join(' ')} before, ${report.load_average.after.map((v) => v.toFixed(2)).join(' ')} after.`,
    `autocannon on loopback, ${report.connections} connections, ${report.duration_seconds} s per server after a warm-up; req/s counts 2xx answers only${(report.rounds ?? 1) > 1 ? ` in ${report.rounds} rounds (the second in reverse order; MongoDB rows once): req/s and latencies are means, each ratio is taken within a round (ours and its peer back to back) and the rounds' ratios are combined by geometric mean` : ''}; each server in its own process; MongoDB: ${report.mongo}.`,
    '',
    ...ratioTable(report.results, onFerretDb),
    '',
    ...(onFerretDb
      ? [
          'Rows "on FerretDB" are a functional check (every answer 2xx), not a speed figure: FerretDB v1 scans whole collections for every query, so its times say nothing about MongoDB. The commands below do.',
          '',
        ]
      : []),
    ...withHeading(
      `Commands: MongoDB commands and sequential round trips per operation, ${report.command_counts_note ?? ''}:`,
      report.command_counts ? countsTable(report.command_counts) : [],
    ),
    ...withHeading(
      'What features cost (ours with the feature against ours without it, back to back; cost = throughput lost to the extra server CPU per answer, 1 - CPU without / CPU with):',
      costTable(report.results),
    ),
    'Ledger (in-process, one child per store; audit = `history()` queries one at a time over the seeded log):',
    '',
    ...ledgerTable(report.results, onFerretDb),
    '',
    ...report.results
      .filter((row) => row.scenario === 'ledger-audit')
      .map(
        (row) =>
          `Audit p99 by query (${row.store}, ms): ${Object.entries(
            (row['p99_by_query'] as Record<string, number> | undefined) ?? {},
          )
            .map(([kind, value]) => `${kind} ${value}`)
            .join(', ')}.`,
      ),
    '',
    ...(failures.length > 0
      ? [
          'Non-2xx answers or errors:',
          ...failures.map(
            (row) =>
              `- ${labelOf(row)}: ${
                row['failed']
                  ? `${String(row['failed'])} appends failed (store unavailable)`
                  : `${String(row['non2xx'])} non-2xx, ${String(row['errors'])} errors`
              }`,
          ),
          '',
        ]
      : []),
    ...(warnings.size > 0
      ? [
          'Warnings printed by the servers:',
          ...[...warnings].map(
            ([line, where]) => `- \`${line}\` (${[...new Set(where)].join(', ')})`,
          ),
          '',
        ]
      : []),
  ].join('\n');
}

export async function writeReport(report: Report, dir: URL, name = 'latest'): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(new URL(`${name}.json`, dir), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(new URL(`${name}.md`, dir), `${markdown(report)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const usage = `usage: tsx bench/report.ts [name]

  name  rewrites bench/results/<name>.md from <name>.json (default latest)`;
  const [name = 'latest'] = commandLine(usage, {}, { max: 1 }).positionals;
  const dir = new URL('./results/', import.meta.url);
  const report = JSON.parse(await readFile(new URL(`${name}.json`, dir), 'utf8')) as Report;
  await writeFile(new URL(`${name}.md`, dir), `${markdown(report)}\n`);
}
