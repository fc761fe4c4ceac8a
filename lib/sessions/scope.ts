/**
 * Scopes of a verified access token (RFC 6749 section 3.3: space-separated).
 */
import { InsufficientScopeError } from '../errors.js';
import type { TokenClaims } from '../tokens/claims.js';

export function hasScope(claims: TokenClaims, scope: string): boolean {
  return typeof claims.scope === 'string' && claims.scope.split(' ').includes(scope);
}

/** 403 `insufficient_scope` (RFC 6750 section 3.1) unless the token carries `scope`. */
export function assertScope(claims: TokenClaims, scope: string): void {
  if (!hasScope(claims, scope)) {
    throw new InsufficientScopeError(`the token lacks the "${scope}" scope`, scope);
  }
}
