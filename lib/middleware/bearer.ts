/**
 * Reading the access token of a request (RFC 6750 section 2.1): the Authorization header, with a
 * scheme compared case-insensitively (RFC 7235 section 2.1) and the token in b64token syntax.
 * Tokens in query strings are not accepted. `Bearer` is the only scheme unless a middleware says
 * otherwise (`authenticate({ headerTypes })`).
 */
import type { Context } from 'koa';
import { ConfigError, InvalidTokenError, MissingTokenError } from '../errors.js';

/** RFC 6750 section 2.1 `b64token`. */
const B64TOKEN = '[A-Za-z0-9\\-._~+/]+=*';
/** RFC 7230 section 3.2.6 `token`: what an auth-scheme is made of (RFC 7235 section 2.1). */
const SCHEME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const TOKEN = new RegExp(`^${B64TOKEN}$`);

export const DEFAULT_HEADER_TYPES: readonly string[] = Object.freeze(['Bearer']);

/** Reads a request's token; throws `MissingTokenError` when there is none. */
export type TokenReader = (ctx: Context) => string;

/**
 * A reader of the Authorization header accepting `schemes`. A header with another scheme (such
 * as `Basic`) carries no token for us: `MissingTokenError`. One with an accepted scheme but no
 * well-formed token: `InvalidTokenError` (`malformed`).
 */
export function headerReader(schemes: readonly string[]): TokenReader {
  const alternatives = schemes.map((scheme) => scheme.replace(/[.*+^$|]/g, '\\$&')).join('|');
  const accepted = new RegExp(`^(?:${alternatives})(?:\\s|$)`, 'i');
  const credentials = new RegExp(`^(?:${alternatives}) +(${B64TOKEN}) *$`, 'i');
  return function readHeader(ctx: Context): string {
    const header = ctx.get('authorization');
    if (header === '' || !accepted.test(header)) {
      throw new MissingTokenError('a bearer token is required');
    }
    const match = credentials.exec(header);
    if (!match?.[1]) throw new InvalidTokenError('the token is malformed', 'malformed');
    return match[1];
  };
}

const readBearer = headerReader(DEFAULT_HEADER_TYPES);

/** The `Authorization: Bearer` token of a request. */
export function bearerToken(ctx: Context): string {
  return readBearer(ctx);
}

/** Throws a `ConfigError` unless `schemes` is a non-empty list of auth-scheme names. */
export function assertHeaderTypes(schemes: unknown): asserts schemes is readonly string[] {
  if (
    !Array.isArray(schemes) ||
    schemes.length === 0 ||
    !schemes.every((scheme) => typeof scheme === 'string' && SCHEME.test(scheme))
  ) {
    throw new ConfigError(
      'authenticate options.headerTypes must be a non-empty array of auth-scheme names',
    );
  }
}

/** A token the host found itself (`getToken`), held to the same syntax as a header's. */
export function assertTokenSyntax(token: string): string {
  if (!TOKEN.test(token)) throw new InvalidTokenError('the token is malformed', 'malformed');
  return token;
}
