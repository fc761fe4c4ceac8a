/**
 * Mocha global fixtures: one database server per test run (never per test).
 * Spec files reach it through `spec/support/db.ts`.
 */
import { startTestServer, type TestServer } from './mongo-server.js';

let server: TestServer | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  server = await startTestServer();
  process.env['JWTCONNECT_TEST_MONGODB_URI'] = server.uri;
  process.env['JWTCONNECT_TEST_MONGODB_KIND'] = server.kind;
  process.stdout.write(`Test database server: ${server.kind}\n`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await server?.stop();
}
