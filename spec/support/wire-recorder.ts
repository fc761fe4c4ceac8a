/**
 * A loopback recorder in front of the run's test server: every client of the run connects through
 * it (the plugin's own clients made from `store.mongo.uri`, the specs' clients, and the CLI child
 * processes, which are given the same address), so no command reaches the server unseen. It decodes
 * the body of each OP_MSG request (MongoDB wire protocol, section kind 0, with `bson`) and keeps the
 * commands of the MongoDB store for the index coverage check (see index-coverage.ts).
 *
 * Bytes are forwarded as they arrive and decoded on the side: the recorder never delays, reorders
 * or alters traffic. Connections opened by the specs' inspection clients (`INSPECTION_APP_NAME`,
 * see db.ts) are forwarded but not recorded: their queries are the specs' own, not the product's.
 */
import { BSON } from 'mongodb';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { INSPECTION_APP_NAME } from './db.js';
import { commandShape, type CommandShape } from './query-shape.js';

const OP_COMPRESSED = 2012;
const OP_MSG = 2013;
const OP_QUERY = 2004;
const CHECKSUM_PRESENT = 1;

/** A command as recorded: its database and collection, and each filter and sort it carries. */
export interface RecordedShape extends CommandShape {
  db: string;
  /** How many times a command of this shape was sent. */
  count: number;
}

export interface WireRecorder {
  /** `mongodb://127.0.0.1:<port>/`, to hand every client of the run. */
  readonly uri: string;
  /** Distinct command shapes sent by the product, with where and how often. */
  shapes(): RecordedShape[];
  /** Index names each collection was given by `createIndexes`, keyed `db.collection`. */
  createdIndexes(): Map<string, Set<string>>;
  /** Messages that could not be decoded (e.g. compressed): each makes the coverage check fail. */
  readonly undecoded: string[];
  close(): Promise<void>;
}

export async function startWireRecorder(target: string): Promise<WireRecorder> {
  const { hostname, port: targetPort } = new URL(target);
  const shapes = new Map<string, RecordedShape>();
  const created = new Map<string, Set<string>>();
  const undecoded: string[] = [];
  const sockets = new Set<Socket>();

  const record = (command: Record<string, unknown>) => {
    const db = String(command['$db'] ?? '');
    const name = Object.keys(command)[0] ?? '';
    if (name === 'createIndexes') {
      const key = `${db}.${String(command[name])}`;
      const names = created.get(key) ?? new Set<string>();
      for (const index of command['indexes'] as { name: string }[]) names.add(index.name);
      created.set(key, names);
      return;
    }
    const shape = commandShape(command);
    const key = `${db}\u0000${JSON.stringify(shape)}`;
    const seen = shapes.get(key);
    if (seen) seen.count += 1;
    else shapes.set(key, { ...shape, db, count: 1 });
  };

  const recordUnfiltered = (name: string) => {
    const seen = shapes.get(name);
    if (seen) seen.count += 1;
    else shapes.set(name, { name, collection: '', queries: [], db: '', count: 1 });
  };

  const server: Server = createServer((client) => {
    const upstream = connect(Number(targetPort), hostname);
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
    const reader = new MessageReader();
    // Undecided until the handshake names the client; inspection connections are then ignored.
    let recording: boolean | undefined;
    client.on('data', (chunk: Buffer) => {
      if (recording === false) return;
      for (const message of reader.push(chunk)) {
        // Most commands carry no filter (inserts carry whole documents): named, not decoded.
        const name = recording ? unfilteredCommand(message) : undefined;
        if (name !== undefined) {
          recordUnfiltered(name);
          continue;
        }
        const command = decode(message, undecoded);
        if (!command) continue;
        if (recording === undefined) {
          recording = appName(command) !== INSPECTION_APP_NAME;
          if (!recording) return;
        }
        record(command);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    uri: `mongodb://127.0.0.1:${port}/`,
    shapes: () => [...shapes.values()],
    createdIndexes: () => created,
    undecoded,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Splits a byte stream into whole wire-protocol messages (each starts with its int32 length). */
class MessageReader {
  #pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    let buffer = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const messages: Buffer[] = [];
    while (buffer.length >= 4) {
      const length = buffer.readInt32LE(0);
      if (buffer.length < length) break;
      messages.push(buffer.subarray(0, length));
      buffer = buffer.subarray(length);
    }
    // A copy, so that the socket's buffer is not kept alive by a small remainder.
    this.#pending = Buffer.from(buffer);
    return messages;
  }
}

/** Commands whose documents the check needs not read. */
const UNFILTERED = new Set(['insert', 'getMore', 'killCursors', 'hello', 'endSessions', 'ping']);

/**
 * The name of an OP_MSG command that selects nothing by a filter, read from the first key of its
 * body (section kind 0 first, as drivers send it) without decoding the rest.
 */
function unfilteredCommand(message: Buffer): string | undefined {
  if (message.readInt32LE(12) !== OP_MSG || message[20] !== 0) return undefined;
  // After the flags and the section kind: the body's int32 size, its first element's type byte,
  // then that element's name as a C string.
  const name = message.toString('latin1', 26, message.indexOf(0, 26));
  return UNFILTERED.has(name) ? name : undefined;
}

/** The command document of a request, with its OP_MSG document sequences folded in. */
function decode(message: Buffer, undecoded: string[]): Record<string, unknown> | undefined {
  const opCode = message.readInt32LE(12);
  if (opCode === OP_QUERY) {
    // The legacy handshake: flags, then the collection name as a C string, skip, limit, query.
    const nameEnd = message.indexOf(0, 20);
    return BSON.deserialize(message.subarray(nameEnd + 9), { promoteBuffers: true });
  }
  if (opCode !== OP_MSG) {
    undecoded.push(opCode === OP_COMPRESSED ? 'a compressed message' : `opCode ${opCode}`);
    return undefined;
  }
  const flags = message.readUInt32LE(16);
  const end = message.length - (flags & CHECKSUM_PRESENT ? 4 : 0);
  let offset = 20;
  let body: Record<string, unknown> | undefined;
  const sequences: [string, unknown[]][] = [];
  while (offset < end) {
    const kind = message[offset];
    offset += 1;
    const size = message.readInt32LE(offset);
    if (kind === 0) {
      body = BSON.deserialize(message.subarray(offset, offset + size));
    } else {
      const idEnd = message.indexOf(0, offset + 4);
      const id = message.toString('utf8', offset + 4, idEnd);
      const docs: unknown[] = [];
      for (let at = idEnd + 1; at < offset + size; at += message.readInt32LE(at)) {
        docs.push(BSON.deserialize(message.subarray(at, at + message.readInt32LE(at))));
      }
      sequences.push([id, docs]);
    }
    offset += size;
  }
  if (!body) {
    undecoded.push('an OP_MSG without a body');
    return undefined;
  }
  for (const [id, docs] of sequences) body[id] = docs;
  return body;
}

/** The application name a client's handshake gives (`appName`), if any. */
function appName(command: Record<string, unknown>): string | undefined {
  const client = command['client'] as { application?: { name?: string } } | undefined;
  return client?.application?.name;
}
