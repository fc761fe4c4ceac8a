/**
 * The command line of a bench script, parsed by `parseArgs` (node:util) in strict mode. `--help`
 * prints the script's usage and exits; an unknown flag, a flag without its value, a positional
 * too many or too few, or a number that is not one prints the problem above the usage and exits
 * with status 2, the usual status of a usage error, before anything is measured.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function commandLine<const O extends Options>(
  usage: string,
  options: O,
  positionals: { required?: readonly string[]; max: number } = { max: 0 },
) {
  const fail = (message: string): never => {
    console.error(`error: ${message}\n\n${usage}`);
    process.exit(2);
  };
  const config = {
    options: { ...options, help: { type: 'boolean' as const, short: 'h' } },
    allowPositionals: true,
    strict: true as const,
  };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw error;
    return fail((error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  const extra = parsed.positionals[positionals.max];
  if (extra !== undefined) fail(`Unexpected argument '${extra}'.`);
  const missing = positionals.required?.[parsed.positionals.length];
  if (missing !== undefined) fail(`Missing argument ${missing}.`);
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    fail,
    /** `text` as a number, `fallback` when absent; not a finite number (or whole) is a usage error. */
    number(text: string | undefined, fallback: number, name: string, whole = true): number {
      if (text === undefined) return fallback;
      const value = Number(text);
      const valid = text.trim() !== '' && Number.isFinite(value) && value >= 0;
      if (!valid || (whole && !Number.isInteger(value))) {
        fail(`${name} must be a ${whole ? 'whole ' : ''}number of 0 or more, not '${text}'.`);
      }
      return value;
    },
  };
}
