/**
 * `--user <id>`: the opaque `sub` of a user, computed as the plugin does (HMAC-SHA256 of the user
 * id under the subject secret). The secret comes from the environment only, never from the command
 * line, where other users of the machine could read it in the process list.
 */
import { subjectFor } from '../tokens/claims.js';
import { CliError } from './errors.js';

export const SUBJECT_SECRET_VARIABLE = 'JWTCONNECT_SUBJECT_SECRET';

/** The `sub` of the user with the host's id `user`. */
export function subjectOfUser(user: string, env: NodeJS.ProcessEnv): string {
  const secret = env[SUBJECT_SECRET_VARIABLE];
  if (secret === undefined || secret === '') {
    throw new CliError(
      `--user needs the plugin's subject secret in ${SUBJECT_SECRET_VARIABLE} (or pass --sub)`,
    );
  }
  // The plugin refuses a shorter one at start-up, so no subject was ever derived from it.
  if (secret.length < 32) {
    throw new CliError(
      `${SUBJECT_SECRET_VARIABLE} is shorter than a subject secret (32 characters)`,
    );
  }
  if (user === '') throw new CliError('--user needs a user id');
  return subjectFor(user, secret);
}
