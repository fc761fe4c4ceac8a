/**
 * Key-encryption keys (KEKs): they wrap the data keys (lib/personal-data/data-keys.ts), which are
 * stored only wrapped. By default one KEK is derived with HKDF (RFC 5869) from `subjectSecret`;
 * `personalData.keys` lists others, the first wrapping new data keys and all unwrapping (rotation).
 * The derived one always unwraps too, so data keys wrapped before the list was set stay readable.
 *
 * A wrapped key is a compact JWE (RFC 7516) with `A256KW` (RFC 7518 section 4.4) whose protected
 * header names the KEK (`kid`) and the data key (`dk`): a wrapped key moved to another record is
 * refused rather than opened under the wrong name.
 */
import { createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { PersonalDataError } from '../errors.js';

/** The id of the KEK derived from `subjectSecret`. */
export const DERIVED_KEK_ID = 'subject-secret';

/** A key-encryption key of `personalData.keys`. */
export interface KekSource {
  /** Names the key in every data key it wraps; keep it listed while any remains. */
  kid: string;
  /** At least 32 characters; the KEK is derived from it with HKDF-SHA256. */
  secret: string;
}

const SALT = 'koa-jwtconnect personal data';
const INFO = 'key-encryption key v1';
const WRAP = { alg: 'A256KW', enc: 'A256GCM' } as const;

function derive(secret: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync('sha256', secret, SALT, INFO, 32)));
}

export class KeyEncryptionKeys {
  readonly #byId = new Map<string, KeyObject>();
  readonly #active: string;

  constructor(subjectSecret: string, explicit: readonly KekSource[] = []) {
    for (const source of explicit) this.#byId.set(source.kid, derive(source.secret));
    if (!this.#byId.has(DERIVED_KEK_ID)) this.#byId.set(DERIVED_KEK_ID, derive(subjectSecret));
    this.#active = explicit[0]?.kid ?? DERIVED_KEK_ID;
  }

  /** Wraps a data key under the active KEK. */
  async wrap(dataKeyId: string, dataKey: Uint8Array): Promise<string> {
    const kek = this.#byId.get(this.#active) as KeyObject;
    return new CompactEncrypt(dataKey)
      .setProtectedHeader({ ...WRAP, kid: this.#active, dk: dataKeyId })
      .encrypt(kek);
  }

  /** The data key `dataKeyId` from its wrapped form; a `PersonalDataError` if it cannot be. */
  async unwrap(dataKeyId: string, wrapped: string): Promise<Uint8Array> {
    try {
      const { plaintext, protectedHeader } = await compactDecrypt(
        wrapped,
        (header) => {
          const kek = typeof header.kid === 'string' ? this.#byId.get(header.kid) : undefined;
          if (!kek) throw new PersonalDataError(`no key-encryption key "${String(header.kid)}"`);
          return kek;
        },
        { keyManagementAlgorithms: [WRAP.alg], contentEncryptionAlgorithms: [WRAP.enc] },
      );
      if (protectedHeader['dk'] !== dataKeyId) {
        throw new PersonalDataError('the wrapped key belongs to another data key');
      }
      return plaintext;
    } catch (error) {
      if (error instanceof PersonalDataError) throw error;
      throw new PersonalDataError('the data key cannot be unwrapped', 'unavailable', {
        cause: error,
      });
    }
  }
}
