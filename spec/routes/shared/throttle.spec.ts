/**
 * The login throttle on its own: fixed windows per counter, refunds, three limits (a username from
 * one client, a client across usernames, a username from everywhere), and a bounded map that never
 * forgets a counter that holds failures: when it is full it refuses.
 */
import { expect } from 'chai';
import { TooManyRequestsError } from '../../../lib/errors.js';
import { LoginThrottle, type Counter } from '../../../lib/routes/shared/throttle.js';
import { fakeClock } from '../../support/clock.js';

const c = (key: string, limit = 1): Counter => ({ key, limit, user: false });

describe('routes/shared/throttle', () => {
  it('refuses a counter after its limit until its window ends', () => {
    const clock = fakeClock();
    const throttle = new LoginThrottle(clock, { windowSeconds: 60 });
    throttle.take([c('user:a', 2)]);
    clock.advance(10_000);
    throttle.take([c('user:a', 2)]);
    expect(() => throttle.take([c('user:a', 2)]))
      .to.throw(TooManyRequestsError)
      .with.property('retryAfter', 50);
    clock.advance(50_000);
    expect(() => throttle.take([c('user:a', 2)])).to.not.throw();
  });

  it('gives an attempt back on refund, and on forgive also forgets the user counters', () => {
    const throttle = new LoginThrottle(fakeClock());
    const counters = [{ key: 'user:a', limit: 2, user: true }, c('ip:1', 2)];
    throttle.take(counters);
    throttle.refund(counters); // e.g. the store was down: not a failure
    throttle.take(counters); // a wrong password
    throttle.take(counters); // the right one
    throttle.forgive(counters);
    // The address keeps its one wrong password; the username starts afresh.
    expect(() => throttle.take([c('ip:1', 2)])).to.not.throw();
    expect(() => throttle.take([c('ip:1', 2)])).to.throw(TooManyRequestsError);
    expect(() => throttle.take([c('user:a', 1)])).to.not.throw();
  });

  it('counts nothing for a refused attempt: a blocked counter creates no window for the others', () => {
    const throttle = new LoginThrottle(fakeClock(), { maxEntries: 100 });
    throttle.take([c('ip:1')]);
    for (let i = 0; i < 50; i++) {
      expect(() => throttle.take([c(`user:made-up-${i}`), c('ip:1')])).to.throw(
        TooManyRequestsError,
      );
    }
    expect(throttle.size).to.equal(1);
  });

  it('never evicts a blocked counter to make room, however many new keys arrive', () => {
    // Made-up usernames from many addresses: the blocked username must stay blocked.
    const clock = fakeClock();
    const throttle = new LoginThrottle(clock, { windowSeconds: 60, maxEntries: 3 });
    throttle.take([c('user:victim')]);
    let refused = 0;
    for (let i = 0; i < 1000; i++) {
      try {
        throttle.take([c(`user:made-up-${i}`)]);
      } catch (error) {
        if (!(error instanceof TooManyRequestsError)) throw error;
        refused++;
      }
      expect(() => throttle.take([c('user:victim')])).to.throw(TooManyRequestsError);
    }
    expect(refused).to.equal(998);
    expect(throttle.size).to.equal(3);
  });

  it('when full of counters holding failures, refuses new keys until the oldest window ends, then prunes it', () => {
    const clock = fakeClock();
    const throttle = new LoginThrottle(clock, { windowSeconds: 60, maxEntries: 3 });
    throttle.take([c('a', 5)]);
    clock.advance(10_000);
    throttle.take([c('b', 5)]);
    throttle.take([c('c', 5)]);
    expect(() => throttle.take([c('d', 5)]))
      .to.throw(TooManyRequestsError)
      .with.property('retryAfter', 50);
    // Known keys still count (and their own limits still hold).
    expect(() => throttle.take([c('b', 5)])).to.not.throw();
    // Two new keys need two free places: all or nothing.
    clock.advance(50_000);
    expect(() => throttle.take([c('d', 5), c('e', 5)])).to.throw(TooManyRequestsError);
    expect(() => throttle.take([c('d', 5)])).to.not.throw();
    expect(throttle.size).to.equal(3);
  });

  it('drops a window whose failures were all given back, so it takes no room', () => {
    const throttle = new LoginThrottle(fakeClock(), { maxEntries: 1 });
    throttle.take([c('a')]);
    throttle.refund([c('a')]);
    expect(throttle.size).to.equal(0);
    expect(() => throttle.take([c('b')])).to.not.throw();
  });

  describe('counters of one login attempt', () => {
    it('limit a username from one client, a client across usernames, and a username from everywhere', () => {
      const throttle = new LoginThrottle(fakeClock());
      expect(throttle.countersFor('Alice', '10.0.0.1')).to.deep.equal([
        { key: 'user:alice', limit: 100, user: true },
        { key: 'user-client:["alice","10.0.0.1"]', limit: 5, user: true },
        { key: 'client:10.0.0.1', limit: 20, user: false },
      ]);
    });

    it('derive the client and username limits from maxFailures unless they are set', () => {
      const counters = (options: ConstructorParameters<typeof LoginThrottle>[1]) =>
        new LoginThrottle(fakeClock(), options).countersFor('a', 'ip').map(({ limit }) => limit);
      expect(counters({ maxFailures: 3 })).to.deep.equal([60, 3, 12]);
      expect(
        counters({ maxFailures: 3, maxFailuresPerClient: 7, maxFailuresPerUsername: 9 }),
      ).to.deep.equal([9, 3, 7]);
    });

    it('let a user in from their own address after a stranger made five wrong guesses elsewhere', () => {
      const throttle = new LoginThrottle(fakeClock());
      for (let i = 0; i < 5; i++) throttle.take(throttle.countersFor('alice', 'stranger'));
      expect(() => throttle.take(throttle.countersFor('alice', 'stranger'))).to.throw(
        TooManyRequestsError,
      );
      expect(() => throttle.take(throttle.countersFor('alice', 'home'))).to.not.throw();
    });

    it('block a username everywhere after 100 failures from many addresses', () => {
      const throttle = new LoginThrottle(fakeClock());
      for (let i = 0; i < 100; i++) throttle.take(throttle.countersFor('alice', `bot-${i % 25}`));
      expect(() => throttle.take(throttle.countersFor('alice', 'home'))).to.throw(
        TooManyRequestsError,
      );
      expect(() => throttle.take(throttle.countersFor('bob', 'home'))).to.not.throw();
    });
  });
});
