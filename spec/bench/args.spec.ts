/**
 * The bench scripts' command lines (bench/args.ts), through bench/profile.ts run as a child
 * process: it takes a required positional, an optional number and a flag with a value, and needs
 * no server. A mistyped flag must stop the script before it measures anything, not be ignored.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { tempDir, type TempDir } from '../support/keys.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const USAGE = 'usage: tsx bench/profile.ts <file.cpuprofile | dir> [top] [--last <seconds>]';

function profileScript(args: readonly string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'bench/profile.ts', ...args],
      { cwd: ROOT, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.code;
        if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Two seconds in `early`, then one in `late`. */
const PROFILE = {
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1, columnNumber: -1 } },
    ...['early', 'late'].map((name, i) => ({
      id: i + 2,
      callFrame: {
        functionName: name,
        url: `file:///app/lib/${name}.ts`,
        lineNumber: 0,
        columnNumber: 0,
      },
    })),
  ],
  samples: [2, 2, 3],
  timeDeltas: [1_000_000, 1_000_000, 1_000_000],
};

describe('bench script command lines', () => {
  let dir: TempDir;
  let file: string;

  before(async () => {
    dir = await tempDir();
    file = await dir.write('run.cpuprofile', JSON.stringify(PROFILE));
  });
  after(() => dir.dispose());

  it('prints the usage on --help and exits 0', async () => {
    const { code, stdout, stderr } = await profileScript(['--help']);
    expect(code).to.equal(0);
    expect(stdout.split('\n')[0]).to.equal(USAGE);
    expect(stderr).to.equal('');
  });

  it('keeps its positionals and --last: top rows, and the last seconds only', async () => {
    const whole = await profileScript([file, '1']);
    expect(whole.code).to.equal(0);
    expect(whole.stdout).to.include('3.0 s sampled').and.include('early  /app/lib/early.ts:1:1');
    expect(whole.stdout).to.not.include('late  ');
    const last = await profileScript([file, '--last', '0.5']);
    expect(last.code).to.equal(0);
    expect(last.stdout).to.include('1.0 s sampled').and.include('late  /app/lib/late.ts:1:1');
    expect(last.stdout).to.not.include('early  ');
  });

  for (const [args, error] of [
    [['--lats', '1'], "error: Unknown option '--lats'."],
    [['--last'], "error: Option '--last <value>' argument missing"],
    [['x', 'many'], "error: top must be a whole number of 0 or more, not 'many'."],
    [['x', '--last', 'soon'], "error: --last must be a number of 0 or more, not 'soon'."],
    [['x', '1', 'y'], "error: Unexpected argument 'y'."],
    [[], 'error: Missing argument <file.cpuprofile | dir>.'],
  ] as const) {
    it(`exits 2 with the problem and the usage, reading nothing: ${args.join(' ') || '(no arguments)'}`, async () => {
      const { code, stdout, stderr } = await profileScript([...args]);
      expect(code).to.equal(2);
      expect(stdout).to.equal('');
      expect(stderr.split('\n')[0]).to.satisfy((line: string) => line.startsWith(error));
      expect(stderr).to.include(`\n\n${USAGE}\n`);
    });
  }
});
