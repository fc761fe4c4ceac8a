/**
 * `--jwks <url|file>`: the public keys a proof or an archive is checked with, from the plugin's
 * JWKS route or from a saved copy. Nothing else is needed: no database, no private key.
 */
import { readFile } from 'node:fs/promises';
import type { JSONWebKeySet } from 'jose';
import { CliError } from './errors.js';

const FETCH_TIMEOUT_MS = 10_000;

export async function readJwks(source: string): Promise<JSONWebKeySet> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const response = await fetch(source, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new CliError(`--jwks ${source}: HTTP ${response.status}`);
    text = await response.text();
  } else {
    try {
      text = await readFile(source, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new CliError(`--jwks ${source}: cannot read the file (${code})`, { cause: error });
    }
  }
  let jwks: unknown;
  try {
    jwks = JSON.parse(text);
  } catch (error) {
    throw new CliError(`--jwks ${source}: not JSON`, { cause: error });
  }
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new CliError(`--jwks ${source}: not a JWKS ({"keys": [...]})`);
  return jwks as JSONWebKeySet;
}
