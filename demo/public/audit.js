// The audit timeline: an auditor signs in, looks up a user, session or token, and reads its history
// from GET /token/audit. The chain badge comes from GET /demo/verify. JSON routes only.
/* global document, FormData, URLSearchParams */
import {
  api,
  clearTokens,
  describeError,
  el,
  loadTokens,
  passwordLogin,
  refreshTokens,
  revokeSession,
  saveTokens,
  shortId,
} from './session.js';

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 100;
/** Pages fetched per lookup before "Load more" is offered. */
const AUTO_PAGES = 5;

const lookup = { params: null, label: '', events: [], nextCursor: null };

/** A call with the stored access token; refreshes once and retries when it has expired. */
async function authed(path) {
  const answer = await api('GET', path, { token: loadTokens()?.access_token });
  if (answer.status !== 401 || !loadTokens()) return answer;
  const refreshed = await refreshTokens();
  return refreshed.status === 200 ? api('GET', path, { token: loadTokens().access_token }) : answer;
}

function showSignIn(message = '') {
  for (const id of ['auditor', 'results', 'lineage-section', 'state-section']) $(id).hidden = true;
  $('sign-in').hidden = false;
  $('login-error').textContent = message;
}

async function start() {
  if (!loadTokens()) return showSignIn();
  const me = await authed('/api/me');
  if (me.status !== 200) {
    clearTokens();
    return showSignIn('Your session has ended; sign in again.');
  }
  const name = me.body.username ?? me.body.sub;
  if (!(me.body.scope ?? '').split(' ').includes('audit')) {
    return showSignIn(`${name} may not read the audit log (no "audit" scope).`);
  }
  $('sign-in').hidden = true;
  $('auditor').hidden = false;
  $('state-section').hidden = false;
  $('who').textContent = name;
  $('scope').textContent = me.body.scope;
  if (!$('state-at').value) $('state-at').value = new Date().toISOString();
  await verifyChains();
}

async function verifyChains() {
  const badge = $('chain-badge');
  badge.className = 'badge';
  badge.textContent = 'checking the hash chains…';
  const answer = await authed('/demo/verify');
  if (answer.status !== 200) {
    badge.className = 'badge bad';
    badge.textContent = `chain check failed: ${describeError(answer)}`;
    return;
  }
  const { ok, events, streams, problems = [] } = answer.body;
  badge.className = `badge ${ok ? 'ok' : 'bad'}`;
  badge.dataset.ok = String(ok);
  badge.textContent = ok
    ? `✔ chain verified: ${events} events in ${streams} streams`
    : `✘ chain broken: ${problems.length} problem(s)`;
  badge.title = problems
    .slice(0, 5)
    .map((p) => `${p.stream} #${p.seq}: ${p.problem}`)
    .join('\n');
}

const formatTime = (iso) => iso.replace('T', ' ').replace('Z', ' UTC');
const timeOf = (iso) => el('time', { datetime: iso }, formatTime(iso));
const isSubjectStream = (stream) => stream.startsWith('subject:');

function sessionLabel(stream) {
  return isSubjectStream(stream)
    ? el('span', {}, 'all sessions of the subject')
    : el('span', {}, 'session ', shortId(stream));
}

function tokenFacts(event) {
  if (event.type === 'issued') {
    return [
      ['Tokens', ['access ', shortId(event.access.jti), ', refresh ', shortId(event.refresh.jti)]],
      ['Scope', event.scope],
    ];
  }
  if (event.type === 'refreshed') {
    return [
      ['Rotation', ['refresh ', shortId(event.spent), ' → ', shortId(event.refresh.jti)]],
      ['New access', shortId(event.access.jti)],
    ];
  }
  if (event.type === 'erased') {
    return [
      ['Erased', "the subject's personal data: its keys are destroyed, its sessions revoked"],
    ];
  }
  const { target } = event;
  if (target.kind === 'token') return [['Revoked', ['access token ', shortId(target.jti)]]];
  if (target.kind === 'subject') {
    return [['Revoked', ['every session created up to ', timeOf(target.before)]]];
  }
  return [['Revoked', 'the whole session (its refresh and access tokens)']];
}

const PERSONAL_MARKERS = {
  erased: 'erased (the subject asked to be forgotten)',
  expired: 'expired (past the retention period)',
  unavailable: 'unavailable (this server cannot decrypt it)',
};

/** Why an event's IP, user agent and claims are not shown; nothing when they are. */
function personalMarker(status) {
  const text = PERSONAL_MARKERS[status];
  return text ? el('span', { class: `personal ${status}` }, text) : undefined;
}

/** Who acted: the subject itself, `system`, or another subject (e.g. an admin). */
function actorOf(actor, sub) {
  if (!actor) return undefined;
  if (actor === sub) return ['the subject itself (', shortId(actor), ')'];
  return actor.length > 16 ? shortId(actor) : actor;
}

function renderEvent(event, logins) {
  const meta = event.meta ?? {};
  const login = logins.get(event.stream);
  const source = meta.source ?? login;
  const sourceText = meta.source
    ? [meta.source, meta.method].filter(Boolean).join(' / ')
    : login
      ? `${login} (the session's login)`
      : undefined;
  const facts = [
    ['Login source', sourceText],
    ['IP', meta.ip],
    ['User agent', meta.userAgent],
    ['Personal data', personalMarker(event.personal)],
    ['Actor', actorOf(meta.actor, event.sub)],
    ['Reason', meta.reason],
    ['Subject', shortId(event.sub)],
    ...tokenFacts(event),
  ].filter(([, value]) => value !== undefined && value !== null && value !== '');
  const stateButton = isSubjectStream(event.stream)
    ? null
    : el('button', { type: 'button', class: 'small secondary state-here' }, 'state at this time');
  stateButton?.addEventListener('click', () =>
    showState('sid', event.stream, event.time).catch(reportStateError),
  );
  return el(
    'li',
    {
      class: event.type,
      dataset: { type: event.type, stream: event.stream, seq: event.seq, time: event.time, source },
    },
    el(
      'div',
      { class: 'event-head' },
      timeOf(event.time),
      el('span', { class: 'event-type' }, event.type),
      sessionLabel(event.stream),
      el('span', { class: 'note' }, `#${event.seq}`),
      stateButton,
    ),
    el(
      'dl',
      { class: 'facts' },
      facts.map(([name, value]) => [el('dt', {}, name), el('dd', {}, value)]),
    ),
  );
}

/** Per session: the first refresh token, then each rotation (spent -> new), then its end. */
function renderLineage(events) {
  const sessions = new Map();
  for (const event of events) {
    if (isSubjectStream(event.stream)) continue;
    if (!sessions.has(event.stream)) sessions.set(event.stream, []);
    sessions.get(event.stream).push(event);
  }
  return [...sessions].map(([sid, streamEvents]) =>
    el(
      'div',
      { class: 'session-lineage', dataset: { sid } },
      el('h3', {}, 'Session ', shortId(sid)),
      el(
        'ol',
        { class: 'lineage' },
        streamEvents.map((event) => {
          const at = [' at ', timeOf(event.time)];
          if (event.type === 'issued') {
            const source = event.meta?.source ?? 'unknown';
            return el(
              'li',
              { dataset: { to: event.refresh.jti } },
              `issued after a ${source} login: refresh `,
              shortId(event.refresh.jti),
              at,
            );
          }
          if (event.type === 'refreshed') {
            return el(
              'li',
              { dataset: { from: event.spent, to: event.refresh.jti } },
              'refresh ',
              shortId(event.spent),
              ' replaced by ',
              shortId(event.refresh.jti),
              at,
            );
          }
          const actor = actorOf(event.meta?.actor, event.sub);
          return el(
            'li',
            { dataset: { revoked: event.target.kind } },
            event.target.kind === 'token' ? 'an access token revoked' : 'session revoked',
            event.meta?.reason ? ` (${event.meta.reason})` : '',
            actor ? [' by ', actor] : '',
            at,
          );
        }),
      ),
    ),
  );
}

function render() {
  const { events, nextCursor, label } = lookup;
  const logins = new Map();
  for (const event of events) {
    if (event.type === 'issued' && event.meta?.source) logins.set(event.stream, event.meta.source);
  }
  $('results').hidden = false;
  $('results-title').textContent = `Timeline of ${label}`;
  $('results-summary').textContent =
    `${events.length} event(s), oldest first` + (nextCursor ? '; more are available.' : '.');
  $('timeline').replaceChildren(...events.map((event) => renderEvent(event, logins)));
  $('more-button').hidden = !nextCursor;
  const lineage = renderLineage(events);
  $('lineage-section').hidden = lineage.length === 0;
  $('lineage').replaceChildren(...lineage);
}

async function loadPages() {
  let pages = 0;
  do {
    const params = new URLSearchParams(lookup.params);
    if (lookup.nextCursor) params.set('cursor', lookup.nextCursor);
    const answer = await authed(`/token/audit?${params}`);
    if (answer.status !== 200) {
      $('lookup-error').textContent = describeError(answer);
      return;
    }
    lookup.events.push(...answer.body.events);
    lookup.nextCursor = answer.body.next_cursor ?? null;
    pages += 1;
  } while (lookup.nextCursor && pages < AUTO_PAGES);
  render();
}

/** Status of one token of a session state folded at `at` (revoked over rotated over expired). */
function tokenStatusAt(token, session, at) {
  if (token.revoked || session.revoked) return 'revoked';
  if (token.replacedBy) return 'rotated';
  return token.exp * 1000 <= Date.parse(at) ? 'expired' : 'active';
}

function tokenRow(token, status) {
  return el(
    'tr',
    { dataset: { jti: token.jti } },
    el('td', {}, token.type),
    el('td', {}, shortId(token.jti)),
    el('td', {}, timeOf(token.issuedAt)),
    el('td', {}, token.parent ? shortId(token.parent) : '—'),
    el('td', { class: `status ${status}` }, status),
  );
}

/**
 * `GET /token/audit?at=` answers `{ at, status, sid, session }` for a session and
 * `{ at, status, jti, sid, token, revocation }` for a token, folded from the log up to `at`.
 */
function renderState(kind, id, state) {
  const { at, status, session } = state;
  const rows = session
    ? session.tokens.map((token) => tokenRow(token, tokenStatusAt(token, session, at)))
    : state.token
      ? [tokenRow(state.token, status)]
      : [];
  const revocation = session?.revoked ?? state.revocation;
  const actor = actorOf(revocation?.actor, state.sub);
  return [
    el(
      'p',
      { id: 'state-line', dataset: { status } },
      kind === 'sid' ? 'Session ' : 'Token ',
      shortId(id),
      ' at ',
      timeOf(at),
      ': ',
      el('span', { class: `status ${status}`, id: 'state-status' }, status),
      revocation?.reason ? ` (${revocation.reason})` : '',
      actor ? [' by ', actor] : '',
      session?.login?.source ? `; login: ${session.login.source}` : '',
    ),
    rows.length > 0
      ? el(
          'table',
          {},
          el(
            'tr',
            {},
            ['type', 'jti', 'issued', 'obtained with', 'status then'].map((h) => el('th', {}, h)),
          ),
          rows,
        )
      : null,
  ];
}

async function showState(kind, id, at) {
  $('state-kind').value = kind;
  $('state-id').value = id;
  $('state-at').value = at;
  $('state-error').textContent = '';
  const params = new URLSearchParams({ [kind]: id, at });
  const answer = await authed(`/token/audit?${params}`);
  if (answer.status !== 200) {
    $('state-error').textContent = describeError(answer);
    $('state-result').replaceChildren();
    return;
  }
  $('state-result').replaceChildren(...renderState(kind, id, answer.body));
  $('state-section').scrollIntoView({ block: 'nearest' });
}

function reportStateError(error) {
  $('state-error').textContent = String(error);
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const answer = await passwordLogin(form.get('username'), form.get('password'));
  if (answer.status !== 200) {
    $('login-error').textContent = describeError(answer);
    return;
  }
  saveTokens(answer.body);
  event.target.reset();
  await start();
});

$('sign-out').addEventListener('click', async () => {
  await revokeSession();
  clearTokens();
  showSignIn('Signed out.');
});

$('verify-button').addEventListener('click', () => verifyChains());

$('lookup-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  $('lookup-error').textContent = '';
  const kind = $('lookup-kind').value;
  const value = $('lookup-value').value.trim();
  let params = { [kind]: value };
  if (kind === 'username') {
    const answer = await authed(`/demo/subject?${new URLSearchParams({ username: value })}`);
    if (answer.status !== 200) {
      $('lookup-error').textContent = describeError(answer);
      return;
    }
    params = { sub: answer.body.sub };
  }
  const type = $('lookup-type').value;
  Object.assign(lookup, {
    params: { ...params, limit: String(PAGE_SIZE), ...(type && { type }) },
    label: `${kind} ${value}`,
    events: [],
    nextCursor: null,
  });
  if (kind === 'sid' || kind === 'jti') {
    $('state-kind').value = kind;
    $('state-id').value = value;
  }
  await loadPages();
});

$('more-button').addEventListener('click', () => loadPages());

$('state-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const at = new Date($('state-at').value.trim());
  if (Number.isNaN(at.getTime())) {
    $('state-error').textContent = 'the time must be ISO 8601, e.g. 2026-01-15T12:00:00Z';
    return;
  }
  showState($('state-kind').value, $('state-id').value.trim(), at.toISOString()).catch(
    reportStateError,
  );
});

start().catch((error) => showSignIn(String(error)));
