import { frozenCopy, ReadonlyDate } from '../../lib/ledger/frozen.js';
import { canonicalJson } from '../../lib/ledger/hash-chain.js';
import { sessionEvents, newId, T0 } from './drafts.js';
import { expect } from './expect.js';

/** Every object reachable from `value` is frozen. */
function deeplyFrozen(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(deeplyFrozen);
}

describe('frozenCopy', () => {
  it('copies an event into an equal, deeply frozen value with the same canonical form', () => {
    const [event] = sessionEvents(newId('sid'), newId('sub'), T0);
    const copy = frozenCopy(event!);
    expect(copy).to.not.equal(event);
    expect(copy).to.deep.equal(event);
    expect(canonicalJson(copy)).to.equal(canonicalJson(event));
    expect(deeplyFrozen(copy)).to.equal(true);
    expect(Object.isFrozen(event)).to.equal(false);
    expect(() => (copy.meta.source = 'forged')).to.throw(TypeError);
    expect(() => copy.jtis.push('forged')).to.throw(TypeError);
  });

  it('makes Dates whose setters throw, and that are Dates everywhere else', () => {
    const time = new Date(T0);
    const copy = frozenCopy({ time }).time;
    expect(copy).to.be.instanceOf(Date).and.instanceOf(ReadonlyDate);
    expect(copy.getTime()).to.equal(T0);
    expect(JSON.stringify(copy)).to.equal(JSON.stringify(time));
    expect(Object.prototype.toString.call(copy)).to.equal('[object Date]');
    for (const set of ['setTime', 'setUTCHours', 'setFullYear', 'setMilliseconds'] as const) {
      expect(() => (copy[set] as (value: number) => number)(0), set).to.throw(TypeError, set);
    }
    expect(copy.getTime()).to.equal(T0);
    expect(structuredClone(copy)).to.be.instanceOf(Date).and.not.instanceOf(ReadonlyDate);
    time.setTime(0);
    expect(copy.getTime()).to.equal(T0);
  });

  it('shares the parts an earlier copy made and copies only what is new', () => {
    const stored = frozenCopy({ tokens: [{ jti: 'a', at: new Date(T0) }], claims: { x: [1] } });
    const next = { ...stored, tokens: [...stored.tokens, { jti: 'b', at: stored.tokens[0]!.at }] };
    const copy = frozenCopy(next);
    expect(copy.claims).to.equal(stored.claims);
    expect(copy.tokens[0]).to.equal(stored.tokens[0]);
    expect(copy.tokens[1]!.at).to.equal(stored.tokens[0]!.at);
    expect(copy.tokens).to.not.equal(next.tokens);
    expect(copy.tokens[1]).to.not.equal(next.tokens[1]);
    expect(deeplyFrozen(copy)).to.equal(true);
    expect(frozenCopy(copy)).to.equal(copy);
  });

  it('copies a frozen object whose insides can change on every call, not only the first', () => {
    const map = new Map([['k', 1]]);
    const outer = Object.freeze({ map });
    const first = frozenCopy(outer);
    const second = frozenCopy(outer);
    expect(first).to.not.equal(outer);
    expect(second).to.not.equal(outer);
    map.set('k', 2);
    expect(second.map.get('k')).to.equal(1);
  });

  it('copies a frozen object it did not make, since its insides may still change', () => {
    const inner = { reason: 'logout' };
    const outer = Object.freeze({ meta: inner });
    const copy = frozenCopy(outer);
    inner.reason = 'forged';
    expect(copy.meta.reason).to.equal('logout');
    expect(deeplyFrozen(copy)).to.equal(true);
  });

  it('keeps a "__proto__" key a field, never a prototype', () => {
    const claims = JSON.parse('{"__proto__": {"admin": true}, "name": "x"}') as Record<
      string,
      unknown
    >;
    const copy = frozenCopy(claims);
    expect(Object.getPrototypeOf(copy)).to.equal(Object.prototype);
    expect(Object.keys(copy)).to.deep.equal(['__proto__', 'name']);
    expect((copy as { admin?: unknown }).admin).to.equal(undefined);
    expect(canonicalJson(copy)).to.equal(canonicalJson(claims));
  });

  it('copies other objects as structuredClone does [class instance, Map]', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    const copy = frozenCopy({ point: new Point(1), map: new Map([['k', 1]]) });
    expect(copy.point).to.deep.equal({ x: 1 });
    expect(Object.isFrozen(copy.point)).to.equal(true);
    expect(copy.map).to.be.instanceOf(Map);
    expect(copy.map.get('k')).to.equal(1);
  });
});
