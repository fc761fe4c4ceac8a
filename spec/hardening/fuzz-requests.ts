/**
 * Request generators for the fuzzer: every route, with bodies (JSON, forms, raw bytes, compressed),
 * queries, headers and tokens built from the world's valid tokens by mutation (characters, parts,
 * headers and claims changed, or claims re-signed with the server's own key). A generated request
 * is a recipe; `materialize` makes it concrete against the world's current fixtures.
 */
import { createHmac } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CompactSign, base64url } from 'jose';
import {
  FIXTURES,
  type FixtureName,
  type FuzzWorld,
  type RawRequest,
  type Reference,
} from './fuzz-world.js';

export type Route =
  'refresh' | 'introspection' | 'revocation' | 'audit' | 'jwks' | 'login' | 'sso' | 'me' | 'admin';

const PATHS: Readonly<Record<Route, string>> = {
  refresh: '/token/refresh',
  introspection: '/token/introspection',
  revocation: '/token/revocation',
  audit: '/token/audit',
  jwks: '/.well-known/jwks.json',
  login: '/token/login',
  sso: '/sso/acs',
  me: '/api/me',
  admin: '/api/admin',
};
const METHODS: Readonly<Record<Route, string>> = {
  refresh: 'POST',
  introspection: 'POST',
  revocation: 'POST',
  audit: 'GET',
  jwks: 'GET',
  login: 'POST',
  sso: 'POST',
  me: 'GET',
  admin: 'GET',
};

type Mutation =
  | { op: 'none' }
  | { op: 'flip' | 'truncate' | 'delete'; at: number; char: string }
  | { op: 'insert'; at: number; text: string }
  | { op: 'swapPart'; part: number; from: FixtureName }
  | { op: 'header' | 'claims'; changes: Record<string, unknown> }
  | { op: 'resign'; changes: Record<string, unknown>; header: Record<string, unknown> }
  | { op: 'hmacWithPublicKey' }
  | { op: 'parts'; count: number }
  | { op: 'wrap'; prefix: string; suffix: string; times: number };

type TokenRecipe = { fixture: FixtureName; mutation: Mutation } | { text: string };
/** A parameter value: a token, a reference to a fixture id, or any JSON value. */
type Value = { token: TokenRecipe } | { ref: Reference } | { json: unknown };

type Body =
  | { kind: 'json'; members: [string, Value][]; raw?: unknown }
  | { kind: 'form'; members: [string, Value][]; tail: string }
  | { kind: 'bytes'; bytes: Uint8Array | { zeros: number } };

/** How the route's path is spelled: as configured, or bent (a router must not be fooled). */
type PathVariant = null | 'upper' | 'encoded' | 'double-slash' | { suffix: string };

type Encoding =
  | 'none'
  | 'gzip'
  | 'gzip-bomb'
  | 'bogus'
  | 'identity'
  | 'gzip-declared'
  | 'deflate-declared'
  | 'br-declared';

export interface FuzzRequest {
  route: Route;
  path: PathVariant;
  method: string | null;
  authorization: { scheme: string; spacing: string; token: TokenRecipe } | { raw: string } | null;
  query: [string, Value][];
  body: Body | null;
  contentType: string | null;
  /** `*-declared`: the header names an encoding the bytes were never given. */
  encoding: Encoding;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Header-safe text: what an HTTP client can put in a header value (tab, visible ASCII, obs-text). */
const headerText = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\t', ' '),
    fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
    fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
  ),
  maxLength: 40,
});
const anyText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', ' ', '.', '..', '\u0000', '%00', '{"$ne":null}', 'x'.repeat(600)),
);
const references = fc.constantFrom<Reference>(
  ...(['sid', 'sub', 'jti'] as const).flatMap((kind) =>
    (['alice', 'admin', 'bob', 'revoked'] as const).map((who): Reference => `@${kind}:${who}`),
  ),
);
const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, true, -1, 0, 1e308, -1e308, 2 ** 53, '', [], {}, { $ne: null }),
  fc.constantFrom({ $gt: '' }, ['a', 'b'], 'x'.repeat(10_000), '\u202e', '__proto__'),
);
const claimName = fc.oneof(
  fc.constantFrom('iss', 'sub', 'aud', 'iat', 'exp', 'nbf', 'jti', 'sid', 'ttype', 'scope'),
  fc.constantFrom('auth_time', 'username', 'typ', '__proto__', 'constructor'),
  fc.string({ maxLength: 8 }),
);
const claimValue = fc.oneof(
  oddValue,
  references.map((ref) => ({ ref })),
);
const headerChanges = fc.dictionary(
  fc.constantFrom('alg', 'kid', 'typ', 'jku', 'x5u', 'jwk', 'crit', 'x5c', 'b64', 'cty', 'zip'),
  fc.oneof(
    fc.constantFrom('none', 'None', 'HS256', 'RS256', 'RS512', 'PS256', 'ES256', 'EdDSA'),
    fc.constantFrom('at+jwt', 'rt+jwt', 'JWT', 'application/at+jwt', 'AT+JWT', '../../etc/passwd'),
    fc.constantFrom('https://attacker.example/jwks.json', ['b64'], false, 'DEF'),
    oddValue,
  ),
  { maxKeys: 3 },
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'none' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom('flip' as const, 'truncate' as const, 'delete' as const),
      at: fc.nat(),
      char: fc.constantFrom(...B64, '.', '=', ' ', '+', '/', '%', 'é'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: anyText }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('swapPart' as const),
      part: fc.integer({ min: 0, max: 2 }),
      from: fc.constantFrom(...FIXTURES),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constantFrom('header' as const, 'claims' as const),
      changes: fc.oneof(headerChanges, fc.dictionary(claimName, claimValue, { maxKeys: 3 })),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('resign' as const),
      changes: fc.dictionary(claimName, claimValue, { maxKeys: 3 }),
      header: fc.dictionary(fc.constantFrom('kid', 'typ', 'cty', 'b64'), oddValue, {
        maxKeys: 1,
      }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ op: 'hmacWithPublicKey' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('parts' as const),
      count: fc.integer({ min: 0, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('wrap' as const),
      prefix: fc.constantFrom('', ' ', '"', 'Bearer '),
      suffix: fc.constantFrom('', ' ', '.', '\n'),
      times: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

const tokenRecipe: fc.Arbitrary<TokenRecipe> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ fixture: fc.constantFrom(...FIXTURES), mutation }) },
  { weight: 1, arbitrary: fc.record({ text: anyText }) },
);
const value: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: tokenRecipe.map((token) => ({ token })) },
  { weight: 1, arbitrary: references.map((ref) => ({ ref })) },
  { weight: 2, arbitrary: oddValue.map((json) => ({ json })) },
);

const PARAMETERS: Readonly<Record<Route, readonly string[]>> = {
  refresh: ['token', 'refresh_token', 'grant_type'],
  introspection: ['token', 'jti', 'token_type_hint'],
  revocation: ['token', 'token_type_hint'],
  audit: ['sub', 'sid', 'jti', 'type', 'from', 'to', 'at', 'limit', 'cursor'],
  jwks: [],
  login: ['username', 'password'],
  sso: ['assertion'],
  me: [],
  admin: [],
};
/** Values that get deep into a route: well-formed keywords, times, names and cursors. */
const plausible = fc.oneof(
  fc.constantFrom('refresh_token', 'access_token', 'issued', 'refreshed', 'revoked', 'alice'),
  fc.constantFrom('admin', 'ok:alice', 'ok:admin', 'ok:mallory', '1', '500', '501', '0'),
  fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
  fc.integer({ min: 0, max: 99_999_999_999 }).map(String),
  fc.stringMatching(
    /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})$/,
  ),
  fc.jsonValue({ maxDepth: 1 }).map((json) => base64url.encode(JSON.stringify(json))),
  fc
    .tuple(fc.integer(), fc.string({ maxLength: 30 }), fc.integer())
    .map((position) => base64url.encode(JSON.stringify(position))),
);
function members(route: Route): fc.Arbitrary<[string, Value][]> {
  const names = PARAMETERS[route];
  const member: fc.Arbitrary<[string, Value]> = fc.tuple(
    names.length > 0
      ? fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...names) }, fc.string({ maxLength: 12 }))
      : fc.string({ maxLength: 12 }),
    fc.oneof(
      { weight: 2, arbitrary: value },
      plausible.map((json) => ({ json })),
    ),
  );
  return fc.array(member, { maxLength: 4 });
}

const token = tokenRecipe.map((recipe): Value => ({ token: recipe }));
const text = (...values: string[]) => fc.constantFrom(...values).map((json): Value => ({ json }));
const optional = (name: string, arbitrary: fc.Arbitrary<Value>) =>
  fc.option(
    arbitrary.map((v): [string, Value] => [name, v]),
    { nil: undefined },
  );

/** The parameters each route expects, each once and a string, with fuzzed values. */
function wellFormed(route: Route): fc.Arbitrary<[string, Value][]> {
  const some = (...pairs: fc.Arbitrary<[string, Value] | undefined>[]) =>
    fc.tuple(...pairs).map((list) => list.filter((pair) => pair !== undefined));
  const one = (name: string, arbitrary: fc.Arbitrary<Value>) =>
    arbitrary.map((v): [string, Value] => [name, v]);
  switch (route) {
    case 'refresh':
      return fc.oneof(
        some(one('token', token)),
        some(one('refresh_token', token), optional('grant_type', text('refresh_token', 'x'))),
      );
    case 'introspection':
      return fc.oneof(
        some(
          one('token', token),
          optional('token_type_hint', text('access_token', 'refresh_token')),
        ),
        some(
          one(
            'jti',
            references.map((ref): Value => ({ ref })),
          ),
        ),
      );
    case 'revocation':
      return some(
        one('token', token),
        optional('token_type_hint', text('access_token', 'refresh_token', 'x')),
      );
    case 'login':
      return some(
        one('username', text('alice', 'admin', 'bob', 'mallory')),
        one('password', text('alice', 'admin', 'x')),
      );
    case 'sso':
      return some(one('assertion', text('ok:alice', 'ok:admin', 'ok:mallory', 'ok:', 'no')));
    default:
      return fc.constant([]);
  }
}

function body(route: Route): fc.Arbitrary<Body> {
  const params = fc.oneof(wellFormed(route), members(route));
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('json' as const), members: params }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('json' as const),
        members: fc.constant<[string, Value][]>([]),
        raw: fc.oneof(oddValue, fc.constant('{"token":')),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('form' as const),
        members: params,
        tail: fc.constantFrom('', '&', '&&', '%', '%zz', '&a[b]=c', '&token[$ne]=1', '&=&='),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant({ zeros: 20_000 })),
      }),
    },
  );
}

const contentType = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('application/json', 'application/x-www-form-urlencoded'),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=utf-16le',
      'application/json; charset=bogus',
      'application/x-www-form-urlencoded; charset=latin1',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/jwt',
      '*/*',
      '',
    ),
  },
  { weight: 1, arbitrary: headerText },
);

export function fuzzRequest(): fc.Arbitrary<FuzzRequest> {
  return fc.constantFrom<Route>(...(Object.keys(PATHS) as Route[])).chain((route) =>
    fc.record({
      route: fc.constant(route),
      path: fc.oneof(
        { weight: 20, arbitrary: fc.constant(null) },
        fc.constantFrom('upper' as const, 'encoded' as const, 'double-slash' as const),
        fc.record({ suffix: fc.constantFrom('/', '//', '/.', '/..', ';x', '%00', '.json', '%2F') }),
      ),
      method: fc.oneof(
        { weight: 12, arbitrary: fc.constant(null) },
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
      ),
      authorization: fc.oneof(
        { weight: 1, arbitrary: fc.constant(null) },
        // Mostly a valid caller, so the fuzzing gets past authentication into each route.
        {
          weight: 8,
          arbitrary: fc.record({
            scheme: fc.constant('Bearer'),
            spacing: fc.constant(' '),
            token: fc.record({
              fixture: fc.constantFrom('adminAccess' as const, 'aliceAccess' as const),
              mutation: fc.constant({ op: 'none' as const }),
            }),
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({
            scheme: fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Bearer:', 'DPoP'),
            spacing: fc.constantFrom(' ', '  ', '\t', ''),
            token: tokenRecipe,
          }),
        },
        { weight: 1, arbitrary: fc.record({ raw: headerText }) },
      ),
      query:
        route === 'audit'
          ? members(route)
          : fc.array(fc.tuple(fc.string(), value), { maxLength: 1 }),
      body: METHODS[route] === 'POST' ? body(route) : fc.option(body(route), { freq: 10 }),
      contentType: fc.option(contentType, { freq: 10 }),
      encoding: fc.oneof(
        { weight: 20, arbitrary: fc.constant<Encoding>('none') },
        fc.constantFrom<Encoding>(
          'gzip',
          'gzip-bomb',
          'bogus',
          'identity',
          'gzip-declared',
          'deflate-declared',
          'br-declared',
        ),
      ),
    }),
  );
}

/** The concrete token a recipe names, against the world's current fixtures. */
async function tokenOf(world: FuzzWorld, recipe: TokenRecipe): Promise<string> {
  if ('text' in recipe) return recipe.text;
  const token = world.tokens[recipe.fixture];
  const { mutation: m } = recipe;
  const at = (n: number) => ('at' in m ? m.at % Math.max(1, n) : 0);
  const parts = token.split('.') as [string, string, string];
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  const decode = (part: string) =>
    JSON.parse(new TextDecoder().decode(base64url.decode(part))) as Record<string, unknown>;
  switch (m.op) {
    case 'none':
      return token;
    case 'flip':
      return token.slice(0, at(token.length)) + m.char + token.slice(at(token.length) + 1);
    case 'truncate':
      return token.slice(0, at(token.length));
    case 'delete':
      return token.slice(0, at(token.length)) + token.slice(at(token.length) + 1 + (m.at % 4));
    case 'insert':
      return token.slice(0, at(token.length)) + m.text + token.slice(at(token.length));
    case 'swapPart': {
      const other = world.tokens[m.from].split('.');
      parts[m.part as 0 | 1 | 2] = other[m.part] ?? '';
      return parts.join('.');
    }
    case 'header':
      return [encode({ ...decode(parts[0]), ...m.changes }), parts[1], parts[2]].join('.');
    case 'claims':
      return [
        parts[0],
        encode({ ...decode(parts[1]), ...resolved(world, m.changes) }),
        parts[2],
      ].join('.');
    case 'resign': {
      const header = { ...decode(parts[0]), ...m.header, alg: 'RS256' };
      const payload = JSON.stringify({ ...decode(parts[1]), ...resolved(world, m.changes) });
      try {
        return await new CompactSign(new TextEncoder().encode(payload))
          .setProtectedHeader(header)
          .sign(world.key.privateKey);
      } catch {
        // jose refuses some headers (e.g. an unknown `crit`); send them unsigned instead.
        return [encode(header), base64url.encode(payload), parts[2]].join('.');
      }
    }
    case 'hmacWithPublicKey': {
      const header = encode({ ...decode(parts[0]), alg: 'HS256' });
      const mac = createHmac('sha256', world.key.publicPem).update(`${header}.${parts[1]}`);
      return `${header}.${parts[1]}.${mac.digest('base64url')}`;
    }
    case 'parts':
      return [...parts, ...parts].slice(0, m.count).join('.');
    case 'wrap':
      return m.prefix + Array.from({ length: m.times }, () => token).join(m.suffix) + m.suffix;
  }
}

function resolved(world: FuzzWorld, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(changes)) {
    const ref = (inner as { ref?: unknown } | null)?.ref;
    out[name] = typeof ref === 'string' ? world.resolve(ref as Reference) : inner;
  }
  return out;
}

async function valueOf(world: FuzzWorld, v: Value): Promise<unknown> {
  if ('token' in v) return tokenOf(world, v.token);
  if ('ref' in v) return world.resolve(v.ref);
  return v.json;
}

function formText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

async function bodyBytes(world: FuzzWorld, b: Body): Promise<Buffer> {
  if (b.kind === 'bytes') {
    return b.bytes instanceof Uint8Array ? Buffer.from(b.bytes) : Buffer.alloc(b.bytes.zeros);
  }
  const pairs: [string, unknown][] = [];
  for (const [name, v] of b.members) pairs.push([name, await valueOf(world, v)]);
  if (b.kind === 'form') {
    const form = pairs.map(
      ([name, v]) => `${encodeURIComponent(name)}=${encodeURIComponent(formText(v))}`,
    );
    return Buffer.from(form.join('&') + b.tail);
  }
  if (b.raw !== undefined)
    return Buffer.from(typeof b.raw === 'string' ? b.raw : (JSON.stringify(b.raw) ?? ''));
  // Written out member by member, so a name may repeat (JSON.parse would keep only the last).
  const text = pairs.map(([name, v]) => `${JSON.stringify(name)}:${JSON.stringify(v) ?? 'null'}`);
  return Buffer.from(`{${text.join(',')}}`);
}

/** The request as bytes and headers, against the world's current fixtures. */
export async function materialize(world: FuzzWorld, r: FuzzRequest): Promise<RawRequest> {
  const headers: Record<string, string> = {};
  if (r.authorization) {
    headers['authorization'] =
      'raw' in r.authorization
        ? r.authorization.raw
        : `${r.authorization.scheme}${r.authorization.spacing}${await tokenOf(world, r.authorization.token)}`;
  }
  const query = new URLSearchParams();
  for (const [name, v] of r.query) query.append(name, formText(await valueOf(world, v)));
  const search = query.size > 0 ? `?${query.toString()}` : '';
  let body = r.body ? await bodyBytes(world, r.body) : undefined;
  if (body) {
    const fallback =
      r.body?.kind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
    headers['content-type'] = r.contentType ?? fallback;
    if (r.encoding === 'gzip') body = gzipSync(body);
    if (r.encoding === 'gzip-bomb') body = gzipSync(Buffer.alloc(4 << 20, 0x20));
    if (r.encoding !== 'none') headers['content-encoding'] = r.encoding.replace(/-.*/, '');
  }
  // Header values must survive the client's own checks (no control characters but tab).
  for (const [name, v] of Object.entries(headers))
    headers[name] = v.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
  return { method: r.method ?? METHODS[r.route], path: pathOf(r) + search, headers, body };
}

function pathOf(r: FuzzRequest): string {
  const path = PATHS[r.route];
  if (r.path === null) return path;
  if (r.path === 'upper') return path.toUpperCase();
  if (r.path === 'double-slash') return `/${path}`;
  if (r.path === 'encoded') {
    // The first letter after the leading slash, percent-encoded.
    return `/%${path.charCodeAt(1).toString(16)}${path.slice(2)}`;
  }
  return path + r.path.suffix;
}
