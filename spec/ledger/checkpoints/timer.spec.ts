import { ConfigError } from '../../../lib/errors.js';
import { startCheckpointTimer, type Timers } from '../../../lib/ledger/checkpoints/index.js';
import { testPlugin } from '../../support/plugin.js';
import { expect } from '../expect.js';

/** Timers that run only when told to, and remember whether they were unref'd and cleared. */
function manualTimers() {
  const state = {
    tick: undefined as (() => void) | undefined,
    ms: 0,
    unref: false,
    cleared: false,
  };
  const handle = {
    unref: () => {
      state.unref = true;
    },
  };
  const timers: Timers = {
    setInterval: (run, ms) => {
      state.tick = run;
      state.ms = ms;
      return handle;
    },
    clearInterval: (timer) => {
      if (timer === handle) state.cleared = true;
    },
  };
  return { timers, state };
}

const quiet = { warn: () => {}, error: () => {} };

describe('the checkpoint timer', () => {
  it("checkpoints every interval, one at a time, unref'd, until stopped", async () => {
    const { timers, state } = manualTimers();
    let calls = 0;
    let finish: () => void = () => {};
    const api = {
      checkpoint: () => {
        calls++;
        return new Promise<never>((resolve) => {
          finish = () => resolve(undefined as never);
        });
      },
    };
    const stop = startCheckpointTimer(api, 60, quiet, timers);
    expect(state).to.include({ ms: 60_000, unref: true, cleared: false });
    state.tick?.();
    state.tick?.(); // the first is still running: skipped
    expect(calls).to.equal(1);
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    state.tick?.();
    expect(calls).to.equal(2);
    stop();
    expect(state.cleared).to.equal(true);
  });

  it('logs a failed checkpoint and keeps going', async () => {
    const { timers, state } = manualTimers();
    const warnings: string[] = [];
    let calls = 0;
    const api = {
      checkpoint: async () => {
        calls++;
        throw new Error('store down');
      },
    };
    startCheckpointTimer(api, 1, { ...quiet, warn: (message) => warnings.push(message) }, timers);
    state.tick?.();
    await new Promise((resolve) => setImmediate(resolve));
    state.tick?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).to.equal(2);
    expect(warnings).to.deep.equal([
      'the scheduled checkpoint failed',
      'the scheduled checkpoint failed',
    ]);
  });

  it('starts no timer by default', () => {
    const { timers, state } = manualTimers();
    startCheckpointTimer(
      { checkpoint: async () => Promise.reject(new Error('no')) },
      0,
      quiet,
      timers,
    );
    expect(state.tick).to.equal(undefined);
  });

  it('refuses a negative or fractional interval at start-up, naming the option', async () => {
    for (const everySeconds of [-1, 1.5]) {
      await expect(testPlugin(null, { checkpoints: { everySeconds } }))
        .to.be.rejectedWith(ConfigError)
        .and.eventually.have.property('message')
        .that.matches(/^options\.checkpoints\.everySeconds /);
    }
    await expect(testPlugin(null, { checkpoints: { settle: 1 } as never })).to.be.rejectedWith(
      ConfigError,
      'options.checkpoints.settle is not an option',
    );
  });

  it('is stopped by close()', async () => {
    // The plugin's own interval, seen through the global timer functions it calls.
    const [set, clear] = [globalThis.setInterval, globalThis.clearInterval];
    const started: unknown[] = [];
    const cleared: unknown[] = [];
    globalThis.setInterval = ((run: () => void, ms: number) => {
      const handle = set(run, ms);
      if (ms === 3_600_000) started.push(handle);
      return handle;
    }) as typeof setInterval;
    globalThis.clearInterval = ((handle: NodeJS.Timeout) => {
      cleared.push(handle);
      clear(handle);
    }) as typeof clearInterval;
    try {
      const { auth } = await testPlugin(null, { checkpoints: { everySeconds: 3600 } });
      expect(started).to.have.length(1);
      expect((started[0] as NodeJS.Timeout).hasRef()).to.equal(false);
      await auth.close();
      expect(cleared).to.include(started[0]);
    } finally {
      globalThis.setInterval = set;
      globalThis.clearInterval = clear;
    }
  });
});
