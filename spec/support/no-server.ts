/**
 * Loaded instead of fixtures.ts by the unit set (.mocharc.unit.json). It starts no database server
 * and marks the run, so that a unit spec that opens the test database fails at once in db.ts, even
 * when the shell holds a server address: the unit set never depends on a server without saying so.
 */
import { UNIT_SET_FLAG } from './db.js';

process.env[UNIT_SET_FLAG] = '1';
delete process.env['JWTCONNECT_TEST_MONGODB_URI'];
