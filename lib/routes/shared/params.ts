/**
 * Parameter validation: one ajv schema per route (exported by the route, for the docs). Every known
 * parameter must be a string, so arrays (a parameter given twice), numbers and operator objects such
 * as `{"$ne": null}` are refused with 400 `invalid_request` before anything reads them. Unknown
 * parameters are ignored (RFC 6749 section 3.2) and never passed on.
 */
import type { ErrorObject } from 'ajv';
import type { Context, Middleware, Next } from 'koa';
import { InvalidRequestError } from '../../errors.js';
import { MAX_ID_LENGTH } from '../../ledger/index.js';
import { DEFAULT_MAX_TOKEN_LENGTH } from '../../tokens/verify.js';
import { compileSchema, describeProblem } from '../../validation.js';
import { required, routeState } from './request-state.js';

/** The shape every route schema has: an object of string parameters. */
export interface ParamsSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** A token parameter: the verifier refuses longer tokens anyway. */
export const TOKEN_PARAM = {
  type: 'string',
  minLength: 1,
  maxLength: DEFAULT_MAX_TOKEN_LENGTH,
} as const;

/** A `jti`, `sid` or `sub`, as the ledger bounds them. */
export const ID_PARAM = { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH } as const;

/** A short keyword such as `grant_type` or `token_type_hint`. */
export const KEYWORD_PARAM = { type: 'string', minLength: 1, maxLength: 64 } as const;

export type ParamsSource = 'body' | 'query';

/**
 * Validates the body or the query against `schema` and puts the known parameters on
 * the route state (read them with `paramsOf`).
 */
export function validateParams(schema: ParamsSchema, from: ParamsSource): Middleware {
  const validate = compileSchema(schema);
  const names = Object.keys(schema.properties);
  return async function validateParams(ctx: Context, next: Next) {
    const input: unknown = from === 'body' ? ctx.request.body : ctx.query;
    if (!validate(input)) {
      throw new InvalidRequestError(describe(schema, validate.errors ?? [], input));
    }
    const known: Record<string, string> = {};
    for (const name of names) {
      const value = (input as Record<string, unknown>)[name];
      if (Object.hasOwn(input as object, name) && typeof value === 'string') known[name] = value;
    }
    routeState(ctx).params = known;
    await next();
  };
}

/** The validated parameters of the request. */
export function paramsOf<T extends object>(ctx: Context): T {
  return required(ctx, 'params', 'validateParams') as T;
}

/** Type problems are told from the input; the rest from the schema (its `description`). */
function describe(schema: ParamsSchema, errors: ErrorObject[], input: unknown): string {
  const [error] = errors;
  if (!error || error.instancePath === '') return 'the parameters must be an object';
  const name = error.instancePath.slice(1).split('/')[0] ?? '';
  const value = (input as Record<string, unknown>)[name];
  if (Array.isArray(value)) return `"${name}" must be given once, as a string`;
  if (typeof value !== 'string') return `"${name}" must be a string`;
  return describeProblem(schema, error, { label: () => `"${name}"` });
}
