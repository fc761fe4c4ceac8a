// After an SSO login: keep the pair in this tab's sessionStorage for the console and audit pages.
/* global document */
import { saveTokens } from './session.js';

const access = document.getElementById('access-token');
const refresh = document.getElementById('refresh-token');
const scope = document.getElementById('scope');
if (access && refresh) {
  saveTokens({
    access_token: access.value,
    refresh_token: refresh.value,
    scope: scope?.textContent === '(none)' ? undefined : scope?.textContent,
  });
  document.getElementById('saved').textContent = "Saved in this tab's sessionStorage.";
}
