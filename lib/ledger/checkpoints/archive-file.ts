/**
 * The archive file: gzip (node:zlib) of NDJSON lines. A header line with the archive's id and the
 * checkpoint that covers its streams, one line per stream with its events and audit path, and an
 * end line with the counts, so a file cut short at a line boundary is caught as well as one cut
 * inside the gzip stream. Events are copied as they are stored: nothing in them is decrypted or
 * needed to verify them beyond the JWKS.
 */
import { open, rename } from 'node:fs/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { JSONWebKeySet } from 'jose';
import { CheckpointError } from '../../errors.js';
import { verifyCheckpoint, type CheckpointClaims } from './claims.js';
import { inclusionProblems, type StreamInclusion } from './inclusion.js';
import type { ProofReport } from './prove.js';

/** The `format` member of an archive's header line. */
export const ARCHIVE_FORMAT = 'koa-jwtconnect-archive';

/** The first line of an archive file. */
export interface ArchiveHeader {
  format: typeof ARCHIVE_FORMAT;
  version: 1;
  /** The archive's id, as the store's archived-streams index names it. */
  id: string;
  /** ISO 8601: when it was made, and the date its streams ended before. */
  created: string;
  before: string;
  /** The compact JWS of the checkpoint whose tree holds every stream of the file. */
  checkpoint: string;
}

/** The last line of an archive file. */
export interface ArchiveEnd {
  end: true;
  streams: number;
  events: number;
}

/**
 * Writes the archive to `path` + `.partial`, flushes it to disk, then renames it to `path`, so
 * `path` never holds half a file.
 */
export async function writeArchiveFile(
  path: string,
  header: ArchiveHeader,
  streams: AsyncIterable<StreamInclusion>,
): Promise<void> {
  const partial = `${path}.partial`;
  async function* lines(): AsyncIterable<string> {
    yield `${JSON.stringify(header)}\n`;
    let count = 0;
    let events = 0;
    for await (const stream of streams) {
      count++;
      events += stream.events.length;
      yield `${JSON.stringify(stream)}\n`;
    }
    const end: ArchiveEnd = { end: true, streams: count, events };
    yield `${JSON.stringify(end)}\n`;
  }
  await pipeline(Readable.from(lines()), createGzip(), createWriteStream(partial, { mode: 0o600 }));
  // Flushed to the disk before the rename makes it the archive.
  const handle = await open(partial, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(partial, path);
  await syncDirectory(dirname(path));
}

/** The rename itself is durable only once the directory is flushed (where the OS allows it). */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some platforms (Windows) refuse fsync on a directory; the file itself is flushed already.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
  } finally {
    await handle.close();
  }
}

/** The lines of an archive file, parsed. A truncated or corrupt gzip stream throws. */
export async function* readArchiveLines(path: string): AsyncIterable<unknown> {
  const gunzip = createReadStream(path).pipe(createGunzip());
  for await (const line of createInterface({ input: gunzip, crlfDelay: Infinity })) {
    if (line !== '') yield JSON.parse(line) as unknown;
  }
}

/** The verdict on an archive file, with what it holds. */
export interface ArchiveReport extends ProofReport {
  /** The archive's id, from its header. */
  id?: string;
  /** Each stream's last seq and hash, as the file holds them. */
  heads: { stream: string; seq: number; hash: string }[];
  /** Events in the file. */
  events: number;
}

const MAX_PROBLEMS = 100;

/**
 * Verifies an archive file alone, with the public keys: the checkpoint's signature, every
 * stream's chain and audit path to its root, and the end line's counts.
 */
export async function verifyArchiveFile(path: string, jwks: JSONWebKeySet): Promise<ArchiveReport> {
  const problems: string[] = [];
  const heads: ArchiveReport['heads'] = [];
  const seen = new Set<string>();
  let header: ArchiveHeader | undefined;
  let claims: CheckpointClaims | undefined;
  let end: ArchiveEnd | undefined;
  let events = 0;
  const report = (): ArchiveReport => ({
    ok: problems.length === 0,
    problems: problems.slice(0, MAX_PROBLEMS),
    heads,
    events,
    ...(claims && { claims }),
    ...(header && { id: header.id }),
  });
  try {
    for await (const line of readArchiveLines(path)) {
      if (end) return fail(problems, report, 'lines after the end line');
      if (!header) {
        header = line as ArchiveHeader;
        if (header?.format !== ARCHIVE_FORMAT || typeof header.checkpoint !== 'string') {
          return fail(problems, report, 'not an archive file (bad header line)');
        }
        claims = await verifyCheckpoint(header.checkpoint, jwks);
        continue;
      }
      if ((line as Partial<ArchiveEnd>).end === true) {
        end = line as ArchiveEnd;
        continue;
      }
      const stream = line as StreamInclusion;
      if (seen.has(stream.stream)) problems.push(`stream ${stream.stream} appears twice`);
      seen.add(stream.stream);
      problems.push(...inclusionProblems(stream, claims as CheckpointClaims));
      const last = (stream.events as { seq: number; hash: string }[]).at(-1);
      if (last) heads.push({ stream: stream.stream, seq: last.seq, hash: last.hash });
      events += Array.isArray(stream.events) ? stream.events.length : 0;
    }
  } catch (error) {
    if (error instanceof CheckpointError) return fail(problems, report, error.message);
    const reason = (error as Error).message;
    return fail(problems, report, `the file cannot be read to its end (${reason})`);
  }
  if (!header) return fail(problems, report, 'the file is empty');
  if (!end) problems.push('the end line is missing: the file is truncated');
  else if (end.streams !== heads.length || end.events !== events) {
    problems.push(`the end line counts ${end.streams} streams and ${end.events} events`);
  }
  return report();
}

function fail(problems: string[], report: () => ArchiveReport, problem: string): ArchiveReport {
  problems.push(problem);
  return report();
}
