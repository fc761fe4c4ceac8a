/**
 * The login throttle on its own: fixed windows per key, refunds, and a bounded map.
 */
import { expect } from 'chai';
import { TooManyRequestsError } from '../../../lib/errors.js';
import { LoginThrottle } from '../../../lib/routes/shared/throttle.js';
import { fakeClock } from '../../support/clock.js';

describe('routes/shared/throttle', () => {
  it('refuses a key after maxFailures attempts until its window ends', () => {
    const clock = fakeClock();
    const throttle = new LoginThrottle(clock, { maxFailures: 2, windowSeconds: 60 });
    throttle.take(['user:a']);
    clock.advance(10_000);
    throttle.take(['user:a']);
    expect(() => throttle.take(['user:a']))
      .to.throw(TooManyRequestsError)
      .with.property('retryAfter', 50);
    clock.advance(50_000);
    expect(() => throttle.take(['user:a'])).to.not.throw();
  });

  it('gives an attempt back on refund and forgets a key on forgive', () => {
    const throttle = new LoginThrottle(fakeClock(), { maxFailures: 1 });
    throttle.take(['user:a', 'ip:1']);
    throttle.refund(['user:a', 'ip:1']);
    throttle.take(['user:a', 'ip:1']);
    expect(() => throttle.take(['ip:1'])).to.throw(TooManyRequestsError);
    throttle.forgive(['user:a', 'ip:1'], 'user:a');
    expect(() => throttle.take(['user:a'])).to.not.throw();
  });

  it('stays within maxEntries, pruning expired windows first and then the oldest', () => {
    const clock = fakeClock();
    const throttle = new LoginThrottle(clock, { maxFailures: 1, windowSeconds: 60, maxEntries: 3 });
    throttle.take(['a']);
    clock.advance(61_000);
    throttle.take(['b']);
    throttle.take(['c']);
    throttle.take(['d']);
    expect(throttle.size).to.equal(3);
    // "a" expired and went first; "b", "c" and "d" are still counted.
    expect(() => throttle.take(['b'])).to.throw(TooManyRequestsError);
    for (let i = 0; i < 100; i++) throttle.take([`spray${i}`]);
    expect(throttle.size).to.equal(3);
  });
});
