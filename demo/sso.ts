/**
 * A simulated single sign-on, for the demo only. A real app uses a SAML library (e.g. @node-saml's
 * `validatePostResponseAsync`) to check the identity provider's signed <Response>; here the
 * "assertion" is a JWT signed with the fake IdP's own key: a STAND-IN FOR A SAML ASSERTION, not SAML.
 * The assertion consumer service (ACS) checks what a SAML service provider checks: the IdP's signature,
 * Issuer, AudienceRestriction, the validity window (NotOnOrAfter), and that the assertion ID is used
 * once. It then sets `ctx.state.user`, and `auth.loginHook()` takes over. No password is involved.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, errors, generateKeyPair, jwtVerify } from 'jose';
import type { Context, Middleware, Next } from 'koa';
import type { TokenResponse } from '../lib/index.js';
import { escapeHtml, renderPage } from './pages.js';
import { DEMO_USERNAMES, findUser, type DemoUser } from './users.js';

const IDP_ISSUER = 'https://idp.demo.invalid';
const ASSERTION_TYP = 'demo-assertion+jwt';
/** Seconds an assertion is valid: it only has to survive one browser POST. */
const ASSERTION_TTL = 60;
const MAX_ASSERTION_LENGTH = 4096;

export interface DemoSsoOptions {
  /** The service provider's entity id: the audience the assertion must name. */
  audience: string;
  /** Epoch milliseconds (the plugin's clock, so tests can move time). */
  clock: () => number;
}

export interface DemoSso {
  /** GET /sso/idp: the fake IdP's page (pick a user; it trusts you, no password). */
  idpPage: Middleware;
  /** POST /sso/idp: the fake IdP signs an assertion and posts it to the ACS (HTTP-POST binding). */
  idpSignIn: Middleware;
  /** POST /sso/acs: checks the assertion and sets `ctx.state.user` for the login hook. */
  acs: Middleware;
}

class AssertionRefused extends Error {
  override name = 'AssertionRefused';
}

/** Why an assertion was refused, in words, from jose's error codes. */
function reasonOf(error: unknown): string {
  if (error instanceof AssertionRefused) return error.message;
  if (error instanceof errors.JWTExpired) return 'the assertion has expired';
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return "the signature is not the identity provider's";
  }
  if (error instanceof errors.JWTClaimValidationFailed) return `bad "${error.claim}" claim`;
  if (error instanceof errors.JOSEError) return 'the assertion is malformed';
  throw error;
}

export async function createDemoSso(options: DemoSsoOptions): Promise<DemoSso> {
  // The IdP's own key pair: only its public half is the service provider's business.
  const idpKeys = await generateKeyPair('ES256');
  /** Assertion ids already consumed, until they expire. One process only: a real SP shares this. */
  const consumed = new Map<string, number>();

  const idpPage: Middleware = (ctx) => {
    const buttons = DEMO_USERNAMES.map(
      (name) =>
        `<button type="submit" name="username" value="${escapeHtml(name)}">${escapeHtml(name)}</button>`,
    );
    ctx.type = 'html';
    ctx.body = renderPage(
      'Demo identity provider',
      `<main class="idp"><h1>Demo identity provider</h1>
<p class="note">A stand-in for your SAML identity provider. It signs an assertion with its own key
and posts it to the application's <code>/sso/acs</code>. Choose who you are (no password here).</p>
<form method="post" action="/sso/idp" class="users">${buttons.join('\n')}</form></main>`,
    );
  };

  const idpSignIn: Middleware = async (ctx) => {
    const username = (ctx.request.body as Record<string, unknown> | undefined)?.['username'];
    if (typeof username !== 'string' || !findUser(username)) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = renderPage('Unknown user', '<main><h1>The IdP has no such user</h1></main>');
      return;
    }
    const now = Math.floor(options.clock() / 1000);
    const assertion = await new SignJWT({ auth_context: 'demo:unspecified' })
      .setProtectedHeader({ alg: 'ES256', typ: ASSERTION_TYP })
      .setIssuer(IDP_ISSUER)
      .setSubject(username)
      .setAudience(options.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(idpKeys.privateKey);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = renderPage(
      'Demo identity provider',
      `<main class="idp"><h1>Demo identity provider</h1>
<p>Signed in as <strong>${escapeHtml(username)}</strong>. Posting a signed assertion to the application…</p>
<form method="post" action="/sso/acs" data-autopost>
<input type="hidden" name="assertion" value="${escapeHtml(assertion)}">
<button type="submit">Continue to the application</button></form>
<details><summary>The assertion (a JWT standing in for SAML)</summary>
<pre>${escapeHtml(JSON.stringify(decodeJwt(assertion), null, 2))}</pre></details></main>`,
      ['/static/autopost.js'],
    );
  };

  async function checkAssertion(ctx: Context, next: Next): Promise<void> {
    const assertion = (ctx.request.body as Record<string, unknown> | undefined)?.['assertion'];
    let user: DemoUser | undefined;
    try {
      if (typeof assertion !== 'string' || !assertion || assertion.length > MAX_ASSERTION_LENGTH) {
        throw new AssertionRefused('no assertion was posted');
      }
      const now = options.clock();
      const { payload } = await jwtVerify(assertion, idpKeys.publicKey, {
        algorithms: ['ES256'],
        typ: ASSERTION_TYP,
        issuer: IDP_ISSUER,
        audience: options.audience,
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        maxTokenAge: ASSERTION_TTL,
        currentDate: new Date(now),
      });
      for (const [id, exp] of consumed) if (exp * 1000 < now) consumed.delete(id);
      const id = payload.jti as string;
      if (consumed.has(id)) throw new AssertionRefused('the assertion was already used (replay)');
      consumed.set(id, payload.exp as number);
      user = findUser(payload.sub as string);
      if (!user) throw new AssertionRefused('the identity provider named an unknown user');
    } catch (error) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = renderPage(
        'Sign-in refused',
        `<main><h1>Sign-in refused</h1><p id="refused">${escapeHtml(reasonOf(error))}</p>
<p><a href="/">Back</a></p></main>`,
      );
      return;
    }
    ctx.state['user'] = user;
    await next();
  }

  return { idpPage, idpSignIn, acs: checkAssertion };
}

/** The page after an SSO login: shows the token pair; a script keeps it in sessionStorage. */
export function signedInPage(tokens: TokenResponse): string {
  return renderPage(
    'Signed in with SSO',
    `<main><h1>Signed in with SSO</h1>
<p class="note"><code>/sso/acs</code> verified the identity provider's assertion, set
<code>ctx.state.user</code> and called <code>auth.loginHook({ source: 'saml' })</code>. The plugin
never saw a password.</p>
<section id="tokens">
<label>Access token <textarea id="access-token" readonly rows="4">${escapeHtml(tokens.access_token)}</textarea></label>
<label>Refresh token <textarea id="refresh-token" readonly rows="4">${escapeHtml(tokens.refresh_token)}</textarea></label>
<p>Expires in <span id="expires-in">${escapeHtml(tokens.expires_in)}</span> s.
Scope: <span id="scope">${escapeHtml(tokens.scope ?? '(none)')}</span></p>
<p id="saved" class="note"></p>
<details><summary>The access token's claims</summary>
<pre>${escapeHtml(JSON.stringify(decodeJwt(tokens.access_token), null, 2))}</pre></details>
</section>
<nav><a id="continue" href="/">Continue to the session console</a> · <a href="/audit">Audit timeline</a></nav>
</main>`,
    ['/static/signed-in.js'],
  );
}
