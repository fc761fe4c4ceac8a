/**
 * `GET /token/audit/checkpoints`: the ledger's signed checkpoints for auditors (the caller's token
 * needs the audit scope), oldest first: `{ checkpoints: [{ seq, jws, claims }], next_after }`.
 * `after` (a seq, default 0) and `limit` (1..1000, default 100) page through them; pass
 * `next_after` back as `after` for the next page. Each `jws` verifies with the JWKS alone.
 */
import type { Context, Middleware } from 'koa';
import { MAX_CHECKPOINTS_PAGE, decodeCheckpoint } from '../ledger/index.js';
import type { SessionDeps } from '../sessions/deps.js';
import { authenticateCaller, requireScope } from './shared/caller.js';
import { noStore } from './shared/headers.js';
import { paramsOf, validateParams } from './shared/params.js';

/** Checkpoints per page when the request sets no `limit`. */
export const DEFAULT_CHECKPOINTS_PAGE = 100;

export const checkpointsSchema = {
  type: 'object',
  properties: {
    after: { type: 'string', pattern: '^[0-9]{1,15}$', description: 'a checkpoint seq' },
    limit: {
      type: 'string',
      pattern: '^([1-9][0-9]{0,2}|1000)$',
      description: `an integer from 1 to ${MAX_CHECKPOINTS_PAGE}`,
    },
  },
} as const;

type CheckpointsParams = Partial<Record<keyof (typeof checkpointsSchema)['properties'], string>>;

export function checkpointsRoute(deps: SessionDeps): Middleware[] {
  return [
    noStore,
    authenticateCaller(deps),
    requireScope(deps.config.scopes.audit),
    validateParams(checkpointsSchema, 'query'),
    listCheckpoints(deps),
  ];
}

function listCheckpoints(deps: SessionDeps): Middleware {
  return async function listCheckpoints(ctx: Context) {
    const params = paramsOf<CheckpointsParams>(ctx);
    const after = Number(params.after ?? 0);
    const limit = Number(params.limit ?? DEFAULT_CHECKPOINTS_PAGE);
    // One more than asked for tells whether there is a next page.
    const records = await deps.ledger.store.listCheckpoints(after, limit + 1);
    const page = records.slice(0, limit);
    ctx.body = {
      checkpoints: page.map(({ seq, jws }) => ({ seq, jws, claims: decodeCheckpoint(jws) })),
      next_after: records.length > limit ? (page.at(-1)?.seq ?? null) : null,
    };
  };
}
