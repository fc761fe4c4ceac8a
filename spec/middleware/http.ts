/**
 * A Koa app on a real local HTTP server for middleware tests, reached with Node's global fetch.
 * The header limit is raised so that oversized tokens reach the middleware instead of being cut off
 * by Node's own 16 kB default (which would answer 431 before the plugin sees anything).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

export async function serve(app: Koa): Promise<Served> {
  const server = createServer({ maxHeaderSize: 64 * 1024 }, app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

/** A plain server that counts every request it receives (for jku / x5u headers). */
export async function countingServer(): Promise<Served & { requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    res.setHeader('content-type', 'application/json');
    res.end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );
}

export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
}

/** A request with an optional `Authorization` header; the body is parsed as JSON when it is JSON. */
export async function call(
  url: string,
  authorization?: string,
  init: RequestInit = {},
): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (authorization !== undefined) headers.set('authorization', authorization);
  const response = await fetch(url, { ...init, headers });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: response.headers,
    body: type.includes('json') ? (JSON.parse(text) as unknown) : text,
  };
}
