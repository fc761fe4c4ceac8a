/**
 * The fuzz property, for any generated request to any route:
 * 1. never a 5xx (and nothing logged as an error, which every 5xx would be);
 * 2. never a stack trace, key material (PEM, private JWK members, key parameters) or the subject
 *    secret in the body or a header;
 * 3. no token in any answer but the 200 of refresh, login and the login hook, and each of those
 *    tokens recorded by the event that request appended;
 * 4. a rejected request leaves the ledger unchanged: the event count and the projection's canonical
 *    form are equal before and after. The one exception is policy: a spent refresh token presented
 *    after the reuse grace is refused AND revokes its session (one `revoked` event, reason
 *    `refresh_token_reuse`). Accepted requests append exactly the events of their operation.
 */
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import type { LedgerEvent } from '../../lib/ledger/events.js';
import { fuzzRequest, materialize, type FuzzRequest, type Route } from './fuzz-requests.js';
import type { FuzzWorlds, RawReply, RawRequest } from './fuzz-world.js';
import { leakIn } from './support.js';

const JWS = /eyJ[\w-]*\.[\w-]+\.[\w-]+/g;
const ISSUING: ReadonlySet<Route> = new Set(['refresh', 'login', 'sso']);

/** Counts by route and status, for the runner's report. */
export type FuzzStats = Map<string, number>;

class PropertyViolation extends Error {
  override name = 'PropertyViolation';
  constructor(what: string, raw: RawRequest, reply: RawReply) {
    const body = raw.body ? raw.body.toString('utf8').slice(0, 300) : '';
    super(
      `${what}\n  request: ${raw.method} ${raw.path.slice(0, 300)} ${JSON.stringify(raw.headers).slice(0, 300)} ${JSON.stringify(body)}` +
        `\n  reply: ${reply.status} ${reply.text.slice(0, 300)}`,
    );
  }
}

/** Which events this answer may have appended. */
function allowedEvents(route: Route, reply: RawReply, events: LedgerEvent[]): boolean {
  const types = events.map((event) => event.type).join(',');
  if (events.length === 0) return true;
  if (reply.status === 200) {
    if (route === 'refresh') return types === 'refreshed';
    if (route === 'login' || route === 'sso') return types === 'issued';
    if (route === 'revocation') return types === 'revoked';
    return false;
  }
  const [event] = events;
  return (
    route === 'refresh' &&
    reply.status === 400 &&
    events.length === 1 &&
    event?.type === 'revoked' &&
    event.meta.reason === 'refresh_token_reuse'
  );
}

/** Every token in the answer belongs to this request's successful issue or refresh. */
function tokensAccountedFor(route: Route, reply: RawReply, events: LedgerEvent[]): boolean {
  const found = reply.text.match(JWS) ?? [];
  if (found.length === 0) return true;
  if (reply.status !== 200 || !ISSUING.has(route) || found.length !== 2) return false;
  const recorded = new Set(events.flatMap((event) => event.jtis));
  return found.every((token) => recorded.has(decodeJwt(token).jti as string));
}

export async function checkRequest(
  worlds: FuzzWorlds,
  request: FuzzRequest,
  stats?: FuzzStats,
): Promise<void> {
  const world = await worlds.current();
  const before = await world.snapshot();
  world.take();
  const errorsBefore = world.errors.length;
  const raw = await materialize(world, request);
  const reply = await world.send(raw);
  const events = world.take();
  const error = /"error":"([a-z_]+)"/.exec(reply.text)?.[1];
  const key = `${request.route} ${reply.status}${error ? `:${error}` : ''}`;
  stats?.set(key, (stats.get(key) ?? 0) + 1);
  const fail = (what: string) => new PropertyViolation(what, raw, reply);

  if (reply.status >= 500) throw fail('a 5xx answer');
  if (world.errors.length > errorsBefore) throw fail(`logged: ${world.errors.at(-1)}`);
  if (world.app.errors.length > 0)
    throw fail(`an error reached Koa: ${String(world.app.errors.pop())}`);
  const leak =
    leakIn(reply.text, world.secrets) ??
    leakIn(Object.values(reply.headers).flat().join('\n'), world.secrets);
  if (leak !== null) throw fail(`the answer contains ${leak}`);
  if (!tokensAccountedFor(request.route, reply, events)) throw fail('an unaccounted token');
  if (!allowedEvents(request.route, reply, events)) {
    throw fail(`appended ${events.map((event) => event.type).join(', ') || 'nothing'}`);
  }

  const after = await world.snapshot();
  if (events.length === 0) {
    if (after.events !== before.events || after.states !== before.states) {
      throw fail('the ledger changed without an event');
    }
    return;
  }
  if (after.events !== before.events + events.length) throw fail('events were lost or added');
  // Something was spent, revoked or issued: start again from fresh fixtures.
  await worlds.renew();
}

export function fuzzProperty(worlds: FuzzWorlds, stats?: FuzzStats) {
  return fc.asyncProperty(fuzzRequest(), (request) => checkRequest(worlds, request, stats));
}
