/**
 * `keys generate`: a new signing key written to `--out`, private files with mode 0600, never
 * overwriting without `--force`; prints the files, the kid and the `keys` option that loads them.
 */
import { chmod, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  isHmacAlgorithm,
  MIN_RSA_BITS,
  SIGNING_ALGORITHMS,
  type SigningAlgorithm,
} from '../tokens/algorithms.js';
import type { CliContext } from './context.js';
import { CliError } from './errors.js';
import {
  generateKeyMaterial,
  type KeyFile,
  type KeyFormat,
  type KeyMaterial,
} from './key-material.js';
import { selfSignCertificate } from './x509.js';
import { parsePositiveInteger } from './parse.js';

interface GenerateOptions {
  alg: SigningAlgorithm;
  format: KeyFormat;
  out: string;
  kid?: string;
  x509?: boolean;
  days: number;
  modulusLength?: number;
  force?: boolean;
}

const CERT_FILE = 'public.cert';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false;
    throw error;
  }
}

/** Refuses before writing anything when a target exists (without `force`). */
async function writeFiles(
  dir: string,
  files: readonly KeyFile[],
  names: readonly string[],
  force: boolean,
) {
  const targets = names.map((name) => join(dir, name));
  if (!force) {
    for (const target of targets) {
      if (await exists(target))
        throw new CliError(`${target} exists; pass --force to overwrite it`);
    }
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const file of files) {
    const path = join(dir, file.name);
    // Removed first so the new file gets its mode, never the mode of the file it replaces.
    if (force) await rm(path, { force: true });
    await writeFile(path, file.contents, { mode: file.secret ? 0o600 : 0o644, flag: 'wx' });
    if (file.secret) await chmod(path, 0o600);
  }
}

function configHint(material: KeyMaterial, out: string, options: GenerateOptions): string {
  const path = (name: string) => `'${join(out, name)}'`;
  const kid = options.kid === undefined ? '' : `, kid: '${material.kid}'`;
  const alg = `alg: '${material.alg}'`;
  if (options.format === 'jwk') {
    const name = isHmacAlgorithm(material.alg) ? 'secret.jwk.json' : 'private.jwk.json';
    return `keys: { jwk: JSON.parse(readFileSync(${path(name)}, 'utf8')) }`;
  }
  if (isHmacAlgorithm(material.alg))
    return `keys: { secret: readFileSync(${path('secret.key')}), ${alg}${kid} }`;
  const cert = options.x509 ? `, certificateFile: ${path(CERT_FILE)}` : '';
  return `keys: { privateKeyFile: ${path('private.key')}${cert}, ${alg}${kid} }`;
}

async function run(options: GenerateOptions, context: CliContext): Promise<void> {
  const hmac = isHmacAlgorithm(options.alg);
  if (options.x509 && hmac)
    throw new CliError(`--x509 needs an asymmetric algorithm, not ${options.alg}`);
  if (options.x509 && options.format === 'jwk')
    throw new CliError('--x509 writes PEM files; drop --format jwk');
  if (options.modulusLength !== undefined && !/^(RS|PS)/.test(options.alg)) {
    throw new CliError(`--modulus-length applies to RSA algorithms (RS*, PS*), not ${options.alg}`);
  }
  const material = await generateKeyMaterial({
    alg: options.alg,
    format: options.format,
    ...(options.kid !== undefined && { kid: options.kid }),
    ...(options.modulusLength !== undefined && { modulusLength: options.modulusLength }),
  });
  // With --x509 the certificate takes the place of the SPKI public key.
  const files = options.x509
    ? material.files.filter((f) => f.name === 'private.key')
    : material.files;
  const names = [...files.map((f) => f.name), ...(options.x509 ? [CERT_FILE] : [])];
  await writeFiles(options.out, files, names, options.force === true);
  if (options.x509) {
    const keyFile = join(options.out, 'private.key');
    const certFile = join(options.out, CERT_FILE);
    if (options.force) await rm(certFile, { force: true });
    try {
      await selfSignCertificate({
        keyFile,
        certFile,
        commonName: options.kid ?? 'koa-jwtconnect',
        days: options.days,
      });
    } catch (error) {
      await rm(keyFile, { force: true });
      throw error;
    }
    files.push({
      name: CERT_FILE,
      contents: '',
      secret: false,
      what: `self-signed X.509 certificate (${options.days} days)`,
    });
  }
  for (const file of files) {
    const mode = file.secret ? ' (mode 0600, keep it private)' : '';
    context.out(`wrote ${join(options.out, file.name)}: ${file.what}${mode}`);
  }
  context.out(`alg: ${material.alg}`);
  context.out(`kid: ${material.kid}${options.kid === undefined ? ' (RFC 7638 thumbprint)' : ''}`);
  context.out(`plugin option: ${configHint(material, options.out, options)}`);
  if (hmac)
    context.err(
      'note: every service that verifies HS* tokens can also sign them; prefer ES256 or EdDSA',
    );
}

function parseModulusLength(value: string): number {
  const bits = parsePositiveInteger(value);
  if (bits < MIN_RSA_BITS)
    throw new InvalidArgumentError(`RSA keys need at least ${MIN_RSA_BITS} bits`);
  return bits;
}

export function registerGenerate(keys: Command, context: CliContext): void {
  keys
    .command('generate')
    .summary('generate a signing key (PEM or JWK, any supported algorithm)')
    .description(
      'Generate a signing key into --out: for RS*, PS*, ES*, EdDSA a key pair, for HS* a random ' +
        'secret of the length RFC 7518 requires. Private files are written with mode 0600. ' +
        'Existing files are never overwritten without --force. Prints the kid (the RFC 7638 ' +
        'thumbprint unless --kid is given) and the plugin `keys` option that loads the files.',
    )
    .addOption(
      new Option('--alg <alg>', 'signing algorithm')
        .choices(SIGNING_ALGORITHMS)
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--format <format>', 'file format').choices(['pem', 'jwk']).default('pem'),
    )
    .requiredOption('--out <dir>', 'directory to write to (created if missing)')
    .option('--kid <kid>', 'key id (default: RFC 7638 thumbprint of the public key or secret)')
    .option('--x509', 'write private.key + a self-signed public.cert (runs openssl)')
    .addOption(
      new Option('--days <n>', 'certificate validity with --x509')
        .argParser(parsePositiveInteger)
        .default(3650),
    )
    .option(
      '--modulus-length <bits>',
      `RSA key size (default 2048, at least ${MIN_RSA_BITS})`,
      parseModulusLength,
    )
    .option('--force', 'overwrite existing files')
    .addHelpText(
      'after',
      [
        '',
        'Files written:',
        '  --format pem   private.key (PKCS#8) + public.pem (SPKI); HS*: secret.key (raw bytes)',
        '  --format jwk   private.jwk.json + public.jwk.json; HS*: secret.jwk.json',
        '  --x509         private.key (PKCS#8) + public.cert, as django-jwtconnect-auth uses.',
        '                 Node has no X.509 builder, so the certificate is made by running',
        '                 `openssl req -x509 -new -key private.key -out public.cert -days <n>',
        '                 -subj /CN=<kid or koa-jwtconnect>`: openssl must be on the PATH.',
        '',
        'Examples:',
        '  $ koa-jwtconnect keys generate --alg ES256 --out certs',
        '  $ koa-jwtconnect keys generate --alg EdDSA --format jwk --out certs --kid 2026-01',
        '  $ koa-jwtconnect keys generate --alg RS256 --x509 --out certs',
      ].join('\n'),
    )
    .action((options: GenerateOptions) => run(options, context));
}
