export { PersonalData, type PersonalDataOptions } from './personal-data.js';
export { eraseSubject, type EraseOptions, type EraseResult } from './erase.js';
export { expirePersonalData, type ExpireReport } from './expire.js';
export { DERIVED_KEK_ID, KeyEncryptionKeys, type KekSource } from './key-encryption.js';
export { DEFAULT_KEY_CACHE_ENTRIES, KEY_CACHE_TTL_MS, DataKeys } from './data-keys.js';
export { periodOf, firstRetainedPeriod } from './periods.js';
export { dataKeyIdOf, type PersonalFields } from './codec.js';
