// Browser helpers shared by the demo pages: the tab's token pair (sessionStorage) and the JSON
// routes. Everything the pages know comes from the app's HTTP routes; nothing here is secret.
/* global sessionStorage, fetch, document, atob, URLSearchParams */

const KEY = 'koa-jwtconnect.demo.tokens';

/** @returns {{access_token: string, refresh_token: string, scope?: string} | null} */
export function loadTokens() {
  const text = sessionStorage.getItem(KEY);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (error) {
    console.warn('dropping unreadable stored tokens', error);
    sessionStorage.removeItem(KEY);
    return null;
  }
}

export function saveTokens(tokens) {
  const { access_token, refresh_token, scope } = tokens;
  sessionStorage.setItem(KEY, JSON.stringify({ access_token, refresh_token, scope }));
}

export function clearTokens() {
  sessionStorage.removeItem(KEY);
}

/** The payload of a JWT, decoded for display only (the server is what verifies it). */
export function claimsOf(jwt) {
  const part = jwt.split('.')[1] ?? '';
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/');
  return JSON.parse(atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), '=')));
}

/**
 * Calls a JSON route. `json` or `form` is the body; `token` adds `Authorization: Bearer`.
 * @returns {Promise<{status: number, body: any}>}
 */
export async function api(method, path, { json, form, token } = {}) {
  const headers = { Accept: 'application/json' };
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = new URLSearchParams(form);
  }
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { method, headers, body, credentials: 'omit' });
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      parsed = { error: 'not_json', error_description: String(error), text };
    }
  }
  return { status: response.status, body: parsed };
}

/** `error_description` of an error answer, or its status. */
export function describeError({ status, body }) {
  return body?.error_description ?? body?.error ?? `HTTP ${status}`;
}

export function passwordLogin(username, password) {
  return api('POST', '/login', { json: { username, password } });
}

/** Rotates the stored refresh token; stores and returns the new pair. */
export async function refreshTokens() {
  const tokens = loadTokens();
  if (!tokens) throw new Error('not signed in');
  const answer = await api('POST', '/token/refresh', {
    json: { refresh_token: tokens.refresh_token },
  });
  if (answer.status === 200) saveTokens(answer.body);
  return answer;
}

/** Revokes the stored session (RFC 7009: a refresh token takes its session with it). */
export async function revokeSession() {
  const tokens = loadTokens();
  if (!tokens) throw new Error('not signed in');
  const answer = await api('POST', '/token/revocation', {
    form: { token: tokens.refresh_token, token_type_hint: 'refresh_token' },
    token: tokens.access_token,
  });
  // RFC 7009 section 2.2: 200 whether or not there was anything to revoke.
  if (answer.status >= 200 && answer.status < 300) clearTokens();
  return answer;
}

/** `el('li', { class: 'x', dataset: { jti } }, 'text', child)`: DOM from text only, never HTML. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(node.dataset, value);
    else if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return node;
}

/** A token id shortened for display; the whole id is in the tooltip. */
export function shortId(id) {
  return el('code', { title: id, class: 'mono' }, id.length > 10 ? `${id.slice(0, 8)}…` : id);
}
