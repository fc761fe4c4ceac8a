/**
 * The command recorder of bench/command-counts.ts (the driver's command monitoring), on a fresh
 * database of the run's test server.
 */
import { randomBytes } from 'node:crypto';
import { CommandRecorder } from '../../bench/command-counts.js';
import { testServerUri } from './db.js';

export type { Measured, RecordedCommand } from '../../bench/command-counts.js';
export { CommandRecorder };

/** A recorder on a fresh database of the run's test server; `dispose` it after. */
export function openRecorder(label: string): Promise<CommandRecorder> {
  return CommandRecorder.open(testServerUri(), `t_${label}_${randomBytes(4).toString('hex')}`);
}
