/**
 * Mocha global fixtures: one database server per test run (never per test), reached by every
 * client of the run through a recorder (wire-recorder.ts). Spec files reach it through
 * `spec/support/db.ts`. After the last spec, a root hook checks that an index the store declares
 * serves every query the product sent (suite-queries.ts).
 */
import { closeInspectionClient } from './db.js';
import { startTestServer, type TestServer } from './mongo-server.js';
import { unservedQueries } from './suite-queries.js';
import { startWireRecorder, type WireRecorder } from './wire-recorder.js';

let server: TestServer | undefined;
let recorder: WireRecorder | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  server = await startTestServer();
  recorder = await startWireRecorder(server.uri);
  process.env['JWTCONNECT_TEST_MONGODB_URI'] = recorder.uri;
  process.env['JWTCONNECT_TEST_MONGODB_KIND'] = server.kind;
  process.stdout.write(`Test database server: ${server.kind}\n`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await closeInspectionClient();
  await recorder?.close();
  await server?.stop();
}

export const mochaHooks = {
  afterAll(): void {
    if (!recorder) return;
    const problems = [
      ...recorder.undecoded.map((what) => `not decoded: ${what}`),
      ...unservedQueries(recorder.shapes(), recorder.createdIndexes()),
    ];
    if (problems.length > 0) {
      throw new Error(
        `Queries no declared index serves (values shown as "?"):\n  ${problems.join('\n  ')}`,
      );
    }
  },
};
