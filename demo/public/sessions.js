// The admin sessions console: pick a user, see their live sessions (GET /token/sessions?sub=),
// revoke one (DELETE /token/sessions/:sid) or all (DELETE /token/sessions?sub=) with a reason.
// The plugin records the admin's `sub` as the actor of each revocation.
/* global document, FormData, URLSearchParams */
import {
  api,
  clearTokens,
  describeError,
  el,
  loadTokens,
  passwordLogin,
  refreshTokens,
  saveTokens,
  shortId,
} from './session.js';

const $ = (id) => document.getElementById(id);
const shown = { username: null, sub: null };

/** A call with the stored access token; refreshes once and retries when it has expired. */
async function authed(method, path) {
  const call = () => api(method, path, { token: loadTokens()?.access_token });
  const answer = await call();
  if (answer.status !== 401 || !loadTokens()) return answer;
  const refreshed = await refreshTokens();
  return refreshed.status === 200 ? call() : answer;
}

function showSignIn(message = '') {
  for (const id of ['console', 'sessions-section']) $(id).hidden = true;
  $('sign-in').hidden = false;
  $('login-error').textContent = message;
}

async function start() {
  if (!loadTokens()) return showSignIn();
  const me = await authed('GET', '/api/me');
  if (me.status !== 200) {
    clearTokens();
    return showSignIn('Your session has ended; sign in again.');
  }
  const name = me.body.username ?? me.body.sub;
  if (!(me.body.scope ?? '').split(' ').includes('admin')) {
    return showSignIn(`${name} may not manage sessions (no "admin" scope).`);
  }
  $('sign-in').hidden = true;
  $('console').hidden = false;
  $('who').textContent = name;
}

const time = (iso) =>
  iso ? el('time', { datetime: iso }, iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')) : '—';

function row(session) {
  const button = el('button', { type: 'button', class: 'small secondary revoke-one' }, 'Revoke');
  button.addEventListener('click', () => revokeOne(session.sid).catch(report));
  const login = [session.login.source, session.login.method].filter(Boolean).join(' / ');
  const client = [session.client.ip, session.client.user_agent].filter(Boolean).join(' · ');
  return el(
    'tr',
    { dataset: { sid: session.sid, source: session.login.source ?? '' } },
    el('td', {}, shortId(session.sid), session.current ? ' (this console)' : ''),
    el('td', {}, time(session.created_at)),
    el('td', {}, time(session.refreshed_at)),
    el('td', {}, login || '—'),
    el('td', { class: 'client' }, client || '—'),
    el('td', {}, time(session.expires_at)),
    el('td', {}, button),
  );
}

async function showSessions() {
  const answer = await authed('GET', `/token/sessions?${new URLSearchParams({ sub: shown.sub })}`);
  if (answer.status !== 200) return report(`Listing refused: ${describeError(answer)}`);
  const { sessions } = answer.body;
  $('sessions-section').hidden = false;
  $('sessions-title').textContent = `Live sessions of ${shown.username} (${sessions.length})`;
  $('sessions').tBodies[0].replaceChildren(...sessions.map(row));
  $('sessions').dataset.count = String(sessions.length);
}

function reasonQuery(extra = {}) {
  const reason = $('reason').value.trim();
  return new URLSearchParams({ ...extra, ...(reason && { reason }) });
}

async function revokeOne(sid) {
  const path = `/token/sessions/${encodeURIComponent(sid)}?${reasonQuery()}`;
  const answer = await authed('DELETE', path);
  if (answer.status !== 200) return report(`Revocation refused: ${describeError(answer)}`);
  $('sessions-status').textContent = answer.body.revoked
    ? `Revoked session ${sid.slice(0, 8)}….`
    : `Session ${sid.slice(0, 8)}… had already ended.`;
  await showSessions();
}

async function revokeAll() {
  const answer = await authed('DELETE', `/token/sessions?${reasonQuery({ sub: shown.sub })}`);
  if (answer.status !== 200) return report(`Revocation refused: ${describeError(answer)}`);
  const count = answer.body.revoked.length;
  $('sessions-status').textContent = `Revoked ${count} session${count === 1 ? '' : 's'}.`;
  await showSessions();
}

function report(message) {
  $('console-error').textContent = message instanceof Error ? message.message : message;
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const answer = await passwordLogin(form.get('username'), form.get('password'));
  if (answer.status !== 200) return showSignIn(describeError(answer));
  saveTokens(answer.body);
  event.target.reset();
  await start();
});

$('sign-out').addEventListener('click', () => {
  clearTokens();
  showSignIn();
});

$('pick-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  report('');
  $('sessions-status').textContent = '';
  const username = $('pick-user').value;
  const subject = await authed('GET', `/demo/subject?${new URLSearchParams({ username })}`);
  if (subject.status !== 200) return report(`No such user: ${describeError(subject)}`);
  Object.assign(shown, { username, sub: subject.body.sub });
  await showSessions();
});

$('revoke-all').addEventListener('click', () => revokeAll().catch(report));

start().catch(report);
