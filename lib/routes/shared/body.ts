/**
 * Request bodies: JSON or `application/x-www-form-urlencoded` only (RFC 6749 section 4.1.3 for
 * forms; JSON for django-jwtconnect-auth's clients), bounded in size, strict JSON, and every
 * parameter given once (RFC 6749 section 3.2). Errors are thrown for the router's one error step
 * to render.
 */
import type { Context, Middleware, Next } from 'koa';
import bodyParser from 'koa-bodyparser';
import { InvalidRequestError, JwtConnectError } from '../../errors.js';

export interface BodyOptions {
  /** Largest accepted body in bytes; larger ones get 413. */
  limit: number;
}

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * Parses the body, unless a body parser of the host app already did (then its limits apply).
 * Missing or other content types are refused rather than read as an empty body.
 */
export function parseBody(options: BodyOptions): Middleware {
  const parser = bodyParser({
    enableTypes: ['json', 'form'],
    jsonLimit: String(options.limit),
    formLimit: String(options.limit),
    strict: true,
  });
  return async function parseBody(ctx: Context, next: Next) {
    if (!ctx.is(JSON_TYPE, FORM_TYPE)) {
      throw new InvalidRequestError(`the body must be ${JSON_TYPE} or ${FORM_TYPE}`);
    }
    let read = false;
    try {
      await parser(ctx, async () => {
        read = true;
        rejectDuplicateMembers(ctx);
        await next();
      });
    } catch (error) {
      // Bytes their Content-Encoding does not describe fail in zlib, whose errors carry no HTTP
      // status; reading the body failed, so it is the client's mistake: 400, not 500.
      if (!read && !(error instanceof JwtConnectError) && !hasHttpStatus(error)) {
        throw new InvalidRequestError('the request body could not be decoded', { cause: error });
      }
      throw error;
    }
  };
}

function hasHttpStatus(error: unknown): boolean {
  return typeof (error as { status?: unknown } | null)?.status === 'number';
}

/**
 * A form parameter given twice arrives as an array and fails validation; JSON.parse keeps only the
 * last of two equal member names, so duplicates are found in the raw text instead.
 */
function rejectDuplicateMembers(ctx: Context): void {
  const { body, rawBody } = ctx.request;
  if (!ctx.is(JSON_TYPE) || typeof rawBody !== 'string') return;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return;
  const seen = new Set<string>();
  for (const name of topLevelMemberNames(rawBody)) {
    if (seen.has(name)) throw new InvalidRequestError(`"${name}" must be given once`);
    seen.add(name);
  }
}

/** Member names of the top-level object of a valid JSON text, duplicates included, in order. */
export function topLevelMemberNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let inObject = false;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      const end = endOfString(text, i);
      if (depth === 1 && expectName) {
        names.push(JSON.parse(text.slice(i, end + 1)) as string);
        expectName = false;
      }
      i = end;
    } else if (char === '{' || char === '[') {
      depth++;
      if (depth === 1) inObject = expectName = char === '{';
    } else if (char === '}' || char === ']') {
      depth--;
    } else if (char === ',' && depth === 1) {
      expectName = inObject;
    }
  }
  return names;
}

function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}
