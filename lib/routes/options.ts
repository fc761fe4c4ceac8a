/**
 * `auth.routes(options)`: checked once, when the router is built, by an ajv schema. A wrong option
 * throws one `ConfigError` naming it, e.g. `routes options.paths.refresh must be a path such as ...`,
 * as a wrong `jwtconnect()` option does.
 */
import type { Context } from 'koa';
import { ConfigError } from '../errors.js';
import type { UserRecord } from '../tokens/claims.js';
import { compileSchema, describeProblem } from '../validation.js';
import type { ThrottleOptions } from './shared/throttle.js';

/** The routes `auth.routes()` can serve; each path can be changed or turned off. */
export type RouteName =
  | 'refresh'
  | 'introspection'
  | 'revocation'
  | 'jwks'
  | 'audit'
  | 'checkpoints'
  | 'sessions'
  | 'login';

/** Options of the optional password login route (`POST /token/login`). */
export interface LoginRouteOptions {
  /**
   * Checks a password; returns the user, or null when the username or password is wrong. It should
   * take as long for an unknown user as for a wrong password (e.g. compare against a dummy hash).
   */
  verifyPassword(
    username: string,
    password: string,
  ): Promise<UserRecord | null> | UserRecord | null;
  /** Login source recorded in the `issued` event. Default `password`. */
  source?: string;
  /** Finer detail of the login, recorded in the `issued` event. */
  method?: string;
  /** Scope of the session, fixed or from the user (e.g. from its roles). */
  scope?: string | ((ctx: Context, user: UserRecord) => string | undefined);
  /**
   * Failed-login throttling, per instance. Default per 15 minutes: 5 failures per username from one
   * address, 20 per address, 100 per username from all addresses.
   */
  throttle?: ThrottleOptions;
}

/** Options of `auth.routes()`. */
export interface RoutesOptions {
  /** Prefix for every path, e.g. `/auth`. Default none. */
  prefix?: string;
  /** Path of each route; `false` disables it. */
  paths?: Partial<Record<RouteName, string | false>>;
  /** Largest accepted request body in bytes. Default 16384. */
  bodyLimit?: number;
  /** Enables `POST /token/login` (off by default): the host checks the password. */
  login?: LoginRouteOptions;
}

export interface ResolvedRoutesOptions {
  prefix: string;
  paths: Readonly<Record<RouteName, string | false>>;
  bodyLimit: number;
  login: LoginRouteOptions | undefined;
}

export const DEFAULT_PATHS: Readonly<Record<RouteName, string>> = Object.freeze({
  refresh: '/token/refresh',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  jwks: '/.well-known/jwks.json',
  audit: '/token/audit',
  checkpoints: '/token/audit/checkpoints',
  sessions: '/token/sessions',
  login: '/token/login',
});

export const DEFAULT_BODY_LIMIT = 16_384;

/** Segments of unreserved characters only, so no path reads as a router pattern. */
const PATH_PATTERN = '^(/[A-Za-z0-9._~-]+)+$';
const path = {
  description: 'a path such as "/token/refresh" (unreserved characters), or false',
  anyOf: [{ type: 'string', pattern: PATH_PATTERN }, { const: false }],
};
const fn = { isFunction: true };
const count = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });

export const routesOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prefix: {
      description: 'a path such as "/auth" (unreserved characters), or ""',
      type: 'string',
      pattern: `${PATH_PATTERN}|^$`,
    },
    paths: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(Object.keys(DEFAULT_PATHS).map((name) => [name, path])),
    },
    bodyLimit: {
      ...count(256, 1_048_576),
      description: 'an integer number of bytes from 256 to 1048576',
    },
    login: {
      type: 'object',
      additionalProperties: false,
      required: ['verifyPassword'],
      properties: {
        verifyPassword: fn,
        source: { type: 'string', minLength: 1, maxLength: 512 },
        method: { type: 'string', minLength: 1, maxLength: 512 },
        scope: {
          description: 'a scope string or a function',
          anyOf: [{ type: 'string', minLength: 1 }, fn],
        },
        throttle: {
          type: 'object',
          additionalProperties: false,
          properties: {
            maxFailures: count(1, 1000),
            maxFailuresPerClient: count(1, 100_000),
            maxFailuresPerUsername: count(1, 100_000),
            windowSeconds: count(1, 86_400),
            maxEntries: count(1, 10_000_000),
          },
        },
      },
    },
  },
} as const;

const validateOptions = compileSchema<RoutesOptions>(routesOptionsSchema);

const label = (name: string) => (name === '' ? 'routes options' : `routes options.${name}`);

export function resolveRoutesOptions(options: RoutesOptions): ResolvedRoutesOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('routes options must be an object');
  }
  if (!validateOptions(options)) {
    const [first] = validateOptions.errors ?? [];
    throw new ConfigError(
      describeProblem(routesOptionsSchema, first, { label, unknown: 'is not a routes option' }),
    );
  }
  const paths = Object.fromEntries(
    (Object.keys(DEFAULT_PATHS) as RouteName[]).map((name) => [
      name,
      options.paths?.[name] ?? DEFAULT_PATHS[name],
    ]),
  ) as Record<RouteName, string | false>;
  if (options.login === undefined && typeof options.paths?.login === 'string') {
    throw new ConfigError(
      `${label('paths.login')} needs ${label('login')}, which enables the route`,
    );
  }
  const enabled = Object.entries(paths).filter(
    ([name, value]) => value !== false && (name !== 'login' || options.login !== undefined),
  );
  const seen = new Map<string, string>();
  for (const [name, value] of enabled) {
    const other = seen.get(value as string);
    if (other !== undefined) {
      throw new ConfigError(
        `${label(`paths.${name}`)} is the same path as ${label(`paths.${other}`)}`,
      );
    }
    seen.set(value as string, name);
  }
  return {
    prefix: options.prefix ?? '',
    paths: Object.freeze(paths),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    login: options.login,
  };
}
