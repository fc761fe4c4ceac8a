/**
 * Reading the bearer token of a request (RFC 6750 section 2.1): the Authorization header only,
 * scheme case-insensitive, token in b64token syntax. Tokens in query strings are not accepted.
 */
import type { Context } from 'koa';
import { InvalidTokenError, MissingTokenError } from '../errors.js';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

export function bearerToken(ctx: Context): string {
  const header = ctx.get('authorization');
  if (header === '' || !/^bearer(\s|$)/i.test(header)) {
    throw new MissingTokenError('a bearer token is required');
  }
  const match = BEARER.exec(header);
  if (!match?.[1]) throw new InvalidTokenError('the token is malformed', 'malformed');
  return match[1];
}
