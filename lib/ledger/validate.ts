/**
 * Guards at the ledger's edge: ids are non-empty strings of bounded length, so an operator object
 * such as `{ $ne: null }` or an array can never reach a store query; and the event schema that
 * `verify` checks every stored event against.
 */
import { Ajv } from 'ajv';
import { LedgerInputError } from '../errors.js';
import { EVENT_VERSION, type EventType } from './events.js';

export const MAX_ID_LENGTH = 512;

export function assertId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new LedgerInputError(
      `"${name}" must be a non-empty string of at most ${MAX_ID_LENGTH} characters`,
    );
  }
}

export function assertDate(value: unknown, name: string): asserts value is Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new LedgerInputError(`"${name}" must be a valid date`);
  }
}

/**
 * The shape of a stored event, for `verify`: exactly the members `eventBody` and the ledger write
 * (events.ts), nothing more. A member the hash covers but the ledger never writes (a `__proto__`
 * or any other extra name, inserted with database access) means the event was edited, even if its
 * hash was recomputed to match; `claims` alone is free-form (JWT claims), and `personal` is the
 * compact JWE of the personal fields (docs/personal-data.md). Keep in step with
 * `LedgerEvent` and `eventBody`.
 */
const string = { type: 'string' } as const;
const id = { type: 'string', minLength: 1 } as const;
const date = { isDate: true } as const;
const numericDate = { type: 'number' } as const;
const tokenRef = {
  type: 'object',
  additionalProperties: false,
  required: ['jti', 'exp'],
  properties: { jti: id, exp: numericDate },
} as const;
const meta = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(
    ['source', 'method', 'ip', 'userAgent', 'actor', 'reason'].map((name) => [name, string]),
  ),
} as const;
const header = {
  v: { const: EVENT_VERSION },
  stream: id,
  seq: { type: 'integer', minimum: 1 },
  time: date,
  sub: id,
  jtis: { type: 'array', items: id },
  meta,
  prev: { anyOf: [{ type: 'string', pattern: '^[0-9a-f]{64}$' }, { type: 'null' }] },
  hash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  // Compact JWE (RFC 7516 section 7.1), `dir`: five base64url parts, the second (key) empty.
  personal: {
    type: 'string',
    pattern: '^[A-Za-z0-9_-]+\\.\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
  },
} as const;
const HEADER_REQUIRED = ['v', 'stream', 'seq', 'time', 'sub', 'jtis', 'meta', 'prev', 'hash'];

function eventSchema(type: EventType, properties: object, required: string[]): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: [...HEADER_REQUIRED, 'type', ...required],
    properties: { ...header, type: { const: type }, ...properties },
  };
}

const EVENT_SCHEMAS: Readonly<Record<EventType, object>> = {
  issued: eventSchema(
    'issued',
    {
      access: tokenRef,
      refresh: tokenRef,
      scope: string,
      aud: { anyOf: [string, { type: 'array', items: string }] },
      sessionExp: numericDate,
      claims: { type: 'object' },
    },
    ['access', 'refresh'],
  ),
  refreshed: eventSchema('refreshed', { spent: id, access: tokenRef, refresh: tokenRef }, [
    'spent',
    'access',
    'refresh',
  ]),
  revoked: eventSchema(
    'revoked',
    {
      target: {
        anyOf: ['token', 'session', 'subject'].map((kind) => ({
          type: 'object',
          additionalProperties: false,
          required: [
            'kind',
            ...(kind === 'token' ? ['jti'] : kind === 'subject' ? ['before'] : []),
          ],
          properties: {
            kind: { const: kind },
            ...(kind === 'token' && { jti: id }),
            ...(kind === 'subject' && { before: date }),
          },
        })),
      },
    },
    ['target'],
  ),
  erased: eventSchema('erased', {}, []),
};

const ajv = new Ajv({ strict: true, allErrors: false, allowUnionTypes: true });
ajv.addKeyword({
  keyword: 'isDate',
  schemaType: 'boolean',
  validate: (_schema: boolean, data: unknown) =>
    data instanceof Date && !Number.isNaN(data.getTime()),
  errors: false,
});
const validators = new Map(
  Object.entries(EVENT_SCHEMAS).map(([type, schema]) => [type, ajv.compile(schema)]),
);

/**
 * Why a stored value is not an event the ledger could have written, or undefined when it is one.
 *
 * @example eventSchemaProblem(stored) // 'at /meta: unknown member "__proto__"'
 */
export function eventSchemaProblem(event: unknown): string | undefined {
  const type = (event as { type?: unknown } | null)?.type;
  const validate =
    typeof type === 'string' && Object.hasOwn(EVENT_SCHEMAS, type)
      ? validators.get(type)
      : undefined;
  if (validate === undefined) return 'unknown event type';
  if (validate(event)) return undefined;
  const [error] = validate.errors ?? [];
  if (!error) return 'invalid';
  const where = error.instancePath === '' ? 'the event' : error.instancePath;
  if (error.keyword === 'additionalProperties') {
    return `at ${where}: unknown member ${JSON.stringify(error.params['additionalProperty'])}`;
  }
  return `at ${where}: ${error.message ?? 'invalid'}`;
}
