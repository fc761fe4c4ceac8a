// The session console: sign in (password or SSO), call the protected API, refresh, revoke.
/* global document, FormData */
import {
  api,
  claimsOf,
  describeError,
  loadTokens,
  passwordLogin,
  refreshTokens,
  revokeSession,
  saveTokens,
  shortId,
} from './session.js';

const $ = (id) => document.getElementById(id);

function show() {
  const tokens = loadTokens();
  $('session').hidden = !tokens;
  if (!tokens) return;
  const access = claimsOf(tokens.access_token);
  const refresh = claimsOf(tokens.refresh_token);
  $('who').textContent = access.username ?? access.sub;
  $('sid').replaceChildren(shortId(access.sid));
  $('refresh-jti').replaceChildren(shortId(refresh.jti));
}

function report(text, detail) {
  $('status').textContent = text;
  $('output').hidden = detail === undefined;
  $('output').textContent = detail === undefined ? '' : JSON.stringify(detail, null, 2);
}

$('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const answer = await passwordLogin(form.get('username'), form.get('password'));
  $('login-error').textContent = answer.status === 200 ? '' : describeError(answer);
  if (answer.status !== 200) return;
  saveTokens(answer.body);
  event.target.reset();
  show();
  report('Signed in with a password.');
});

$('me-button').addEventListener('click', async () => {
  const answer = await api('GET', '/api/me', { token: loadTokens()?.access_token });
  report(
    answer.status === 200 ? '/api/me answered:' : `/api/me: ${describeError(answer)}`,
    answer.body,
  );
});

$('refresh-button').addEventListener('click', async () => {
  const before = claimsOf(loadTokens().refresh_token).jti;
  const answer = await refreshTokens();
  if (answer.status !== 200) return report(`Refresh refused: ${describeError(answer)}`);
  show();
  const after = claimsOf(answer.body.refresh_token).jti;
  report(
    `Refreshed: refresh token ${before.slice(0, 8)}… was spent and replaced by ${after.slice(0, 8)}…`,
  );
});

$('revoke-button').addEventListener('click', async () => {
  const answer = await revokeSession();
  if (loadTokens()) return report(`Revocation refused: ${describeError(answer)}`);
  show();
  report('Signed out: the session is revoked.');
});

show();
if (loadTokens()) report("Signed in (the pair is in this tab's sessionStorage).");
