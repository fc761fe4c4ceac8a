/**
 * Signing: always with the key set's active key, and the header carries exactly `alg`, `kid` and
 * `typ` (RFC 9068 section 2.1, RFC 8725 section 3.11).
 */
import { SignJWT } from 'jose';
import { ttypeOf, type TokenClaims, type TokenTyp } from './claims.js';
import type { KeySet } from './keys.js';

/**
 * Signs `claims` as a compact JWS with the active key.
 *
 * @example
 * const jwt = await signToken(keySet, ACCESS_TOKEN_TYP, buildAccessClaims(user, options, context));
 */
export async function signToken(
  keySet: KeySet,
  typ: TokenTyp,
  claims: TokenClaims,
): Promise<string> {
  const ttype = ttypeOf(typ);
  // A caller mistake that would otherwise produce a token its own verifier rejects.
  if (claims.ttype !== ttype) throw new TypeError(`a ${typ} token needs "ttype": "${ttype}"`);
  const { alg, kid, key } = keySet.signing;
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ }).sign(key);
}
