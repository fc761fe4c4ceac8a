/**
 * The options of commands that sign a checkpoint (`audit checkpoint`, `audit archive`): the
 * plugin's active private key as a file and its issuer, so what they sign verifies with the JWKS
 * the plugin serves. Key material is read from the file only, never from the command line.
 */
import { readFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from '../tokens/algorithms.js';
import { loadKeys, type KeySet } from '../tokens/keys.js';
import { CliError, describeError } from './errors.js';
import { parsePositiveInteger } from './parse.js';

export interface SigningOptions {
  key?: string;
  alg: SigningAlgorithm;
  kid?: string;
  issuer?: string;
  settle: number;
}

export function addSigningOptions(command: Command): Command {
  return command
    .option('--key <file>', "the plugin's active private key: PEM, or a JWK file (*.json)")
    .addOption(
      new Option('--alg <alg>', 'its algorithm, as the plugin is configured')
        .choices(SIGNING_ALGORITHMS)
        .default('RS256'),
    )
    .option('--kid <kid>', 'its kid, when the plugin sets one (default: its RFC 7638 thumbprint)')
    .addOption(new Option('--issuer <iss>', 'the plugin\'s "issuer"').env('JWTCONNECT_ISSUER'))
    .addOption(
      new Option('--settle <seconds>', 'how far behind the clock the checkpoint stays')
        .argParser((value) => (value === '0' ? 0 : parsePositiveInteger(value)))
        .default(5),
    );
}

/** The key set of `--key`, and the issuer. */
export async function signingKeys(
  options: SigningOptions,
): Promise<{ keys: KeySet; issuer: string }> {
  if (options.key === undefined) throw new CliError('--key <file> is required to sign');
  if (options.issuer === undefined) {
    throw new CliError('--issuer <iss> (or JWTCONNECT_ISSUER) is required to sign');
  }
  const common = { alg: options.alg, ...(options.kid !== undefined && { kid: options.kid }) };
  try {
    const source = options.key.endsWith('.json')
      ? { jwk: JSON.parse(await readFile(options.key, 'utf8')) as object, ...common }
      : { privateKeyFile: options.key, ...common };
    const keys = await loadKeys(source as Parameters<typeof loadKeys>[0], {
      defaultAlgorithm: options.alg,
      label: '--key',
    });
    return { keys, issuer: options.issuer };
  } catch (error) {
    // loadKeys never puts key material in a message; JSON.parse's message may quote the file.
    if (error instanceof SyntaxError) throw new CliError('--key: the file is not valid JSON');
    throw new CliError(describeError(error), { cause: error });
  }
}
