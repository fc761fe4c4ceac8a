/**
 * Progress on stderr for the whole-log commands, drawn by cli-progress: a live bar on a terminal,
 * a plain line every few seconds otherwise (CI logs, pipes), nothing with `--no-progress`.
 * stdout stays clean for the report.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface ProgressOptions {
  /** What is happening, e.g. `verifying`. */
  label: string;
  /** Events expected (the log can grow meanwhile; the total follows). */
  total: number;
  enabled: boolean;
  stream?: NodeJS.WriteStream;
  /** How often a plain line is written when the stream is not a terminal. Default 5 s. */
  plainEveryMs?: number;
}

export interface ProgressReporter {
  update(done: { events: number; streams: number }): void;
  stop(): void;
}

const none: ProgressReporter = { update: () => {}, stop: () => {} };

/** Events per second since `startedAt` (ms, from `performance.now()`), rounded. */
export function eventsPerSecond(events: number, startedAt: number, now = performance.now()) {
  const seconds = (now - startedAt) / 1000;
  return seconds > 0 ? Math.round(events / seconds) : 0;
}

export function startProgress(options: ProgressOptions): ProgressReporter {
  if (!options.enabled) return none;
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const format = tty
    ? `${options.label} [{bar}] {percentage}% | {value}/{total} events | {streams} streams | {rate} events/s | ETA {eta_formatted}`
    : `${options.label}: {value}/{total} events ({percentage}%), {streams} streams, {rate} events/s`;
  const bar = new SingleBar(
    {
      format,
      stream,
      noTTYOutput: true,
      notTTYSchedule: options.plainEveryMs ?? 5000,
      hideCursor: tty,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  const startedAt = performance.now();
  let total = options.total;
  bar.start(total, 0, { streams: 0, rate: 0 });
  return {
    update({ events, streams }) {
      if (events > total) {
        total = events;
        bar.setTotal(total);
      }
      bar.update(events, { streams, rate: eventsPerSecond(events, startedAt) });
    },
    stop: () => bar.stop(),
  };
}
