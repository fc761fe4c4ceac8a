/**
 * The command recorder of bench/command-counts.ts (the driver's command monitoring), on a fresh
 * database of the run's test server.
 */
import { randomBytes } from 'node:crypto';
import { CommandRecorder } from '../../bench/command-counts.js';
import { inspectedBySpecs, openInspectionClient, testServerUri } from './db.js';

export type { Measured, RecordedCommand } from '../../bench/command-counts.js';
export { CommandRecorder };

/**
 * A recorder on a fresh database of the run's test server; `dispose` it after. The collections a
 * spec takes from its `db` are read through the specs' own client (db.ts), neither recorded nor
 * counted as the product's.
 */
export async function openRecorder(label: string): Promise<CommandRecorder> {
  const name = `t_${label}_${randomBytes(4).toString('hex')}`;
  const recorder = await CommandRecorder.open(testServerUri(), name);
  inspectedBySpecs(recorder.db, await openInspectionClient());
  return recorder;
}
