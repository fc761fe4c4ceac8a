/**
 * Masking of MongoDB connection strings (RFC 3986 §3.2.1 user information) in any text: what a
 * connection string carries must never reach an error message or a log line, whether the text
 * quotes it as written or percent-decoded.
 */

/** `text` with `secret`, as written and percent-decoded, replaced by `***`. */
export function maskSecret(text: string, secret: string): string {
  let masked = text;
  for (const form of new Set([secret, safeDecode(secret)])) {
    masked = masked.split(form).join('***');
  }
  return masked;
}

/** `text` with the user name and password of `uri` (as written and decoded) replaced by `***`. */
export function maskUserInfo(text: string, uri: string): string {
  const userInfo = /^[a-z+]+:\/\/([^/?#]*)@/i.exec(uri)?.[1];
  if (userInfo === undefined) return text;
  const parts = [userInfo, ...userInfo.split(':')].filter((part) => part.length > 0);
  return parts.reduce(maskSecret, text);
}

/**
 * `mongodb://user:secret@host/db` -> `mongodb://user:***@host/db` for every connection string in
 * `text`; with `uri`, its password also wherever else it stands (a driver message may quote it).
 */
export function maskPasswords(text: string, uri?: string): string {
  const masked = text.replace(/(mongodb(?:\+srv)?:\/\/[^:/@\s]*):[^@/\s]*@/g, '$1:***@');
  const password = uri && /^mongodb(?:\+srv)?:\/\/[^:/@]*:([^@/]+)@/.exec(uri)?.[1];
  return password ? maskSecret(masked, password) : masked;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch (error) {
    if (error instanceof URIError) return text;
    throw error;
  }
}
