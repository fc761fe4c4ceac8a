/**
 * A loopback TCP proxy in front of the test database server, for fault injection: the plugin under
 * test connects to the proxy, and the test cuts or stalls the traffic at will.
 *
 * - `cut()`: every open connection is reset and new ones are reset as soon as they are accepted
 *   (the server went away, or a firewall rejects; drivers notice at once).
 * - `stall()`: connections stay open but nothing is forwarded either way (a partition; drivers
 *   notice only through their own timeouts). Held bytes are never delivered: `restore()` resets the
 *   stalled connections, as when a partition outlives TCP's retransmissions, so whether a write
 *   reached the server is decided at the moment of the stall, never later.
 * - `stallReplies()`: requests still reach the server, answers never come back (a write is applied
 *   but its acknowledgement is lost); `restore()` resets these connections too.
 * - `restore()`: traffic flows again; new connections are forwarded.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'stalled' | 'replies-stalled';

export interface TcpProxy {
  /** `mongodb://127.0.0.1:<port>/` plus `query` (URI options, e.g. `socketTimeoutMS=1000`). */
  uri(query?: string): string;
  readonly port: number;
  readonly mode: ProxyMode;
  /** Connections accepted since the proxy started. */
  readonly accepted: number;
  cut(): void;
  stall(): void;
  stallReplies(): void;
  restore(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
  stalled: boolean;
}

/** A proxy on 127.0.0.1 and an ephemeral port to `target` (`mongodb://host:port/...`). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const pairs = new Set<Pair>();
  let mode: ProxyMode = 'open';
  let accepted = 0;

  const reset = (pair: Pair) => {
    pair.client.resetAndDestroy();
    pair.upstream.destroy();
    pairs.delete(pair);
  };

  const server: Server = createServer((client) => {
    accepted++;
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(Number(targetPort), hostname);
    const pair: Pair = { client, upstream, stalled: false };
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    if (mode === 'stalled') hold(pair, 'both');
    if (mode === 'replies-stalled') hold(pair, 'replies');
  });

  /** Stops forwarding (replies only, or both ways); nothing held is ever passed on. */
  const hold = (pair: Pair, what: 'both' | 'replies') => {
    pair.stalled = true;
    pair.upstream.unpipe();
    pair.upstream.pause();
    if (what === 'both') {
      pair.client.unpipe();
      pair.client.pause();
    }
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    uri: (query) => `mongodb://127.0.0.1:${port}/${query ? `?${query}` : ''}`,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    cut() {
      mode = 'cut';
      for (const pair of [...pairs]) reset(pair);
    },
    stall() {
      mode = 'stalled';
      for (const pair of pairs) hold(pair, 'both');
    },
    stallReplies() {
      mode = 'replies-stalled';
      for (const pair of pairs) hold(pair, 'replies');
    },
    restore() {
      for (const pair of [...pairs]) if (pair.stalled) reset(pair);
      mode = 'open';
    },
    async close() {
      for (const pair of [...pairs]) reset(pair);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
