// The wire: every message is one msgpack value (binary fields travel as msgpack bin, never base64),
// validated against its schema before it is returned. Decoding is total: whatever the bytes, the
// result is a message of the expected direction or a ProtocolError, never a crash, and never an
// allocation beyond the protocol's bounds.
import { decode, encode } from '@msgpack/msgpack';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { docIdProblem } from './doc-id.js';
import { ErrorMessage } from './error.js';
import { Frames } from './frames.js';
import { Hello } from './hello.js';
import {
  MAX_FRAMES_PER_MESSAGE,
  MAX_MESSAGE_BYTES,
  MAX_PAGES_PER_FRAME,
  MAX_PAYLOAD_BYTES,
} from './limits.js';
import { Ping, Pong } from './ping.js';
import { Push } from './push.js';
import { PushResult } from './push-result.js';
import { Snapshot } from './snapshot.js';
import { Welcome } from './welcome.js';

export type ClientMessage = Hello | Push | Ping | Pong;
export type ServerMessage = Welcome | PushResult | Frames | Snapshot | ErrorMessage | Ping | Pong;

/** The messages each side may send, by `type`. */
export const CLIENT_MESSAGES: Readonly<Record<ClientMessage['type'], TSchema>> = {
  hello: Hello,
  push: Push,
  ping: Ping,
  pong: Pong,
};
export const SERVER_MESSAGES: Readonly<Record<ServerMessage['type'], TSchema>> = {
  welcome: Welcome,
  'push-result': PushResult,
  frames: Frames,
  snapshot: Snapshot,
  error: ErrorMessage,
  ping: Ping,
  pong: Pong,
};

export type ProtocolErrorKind = 'oversized' | 'malformed';

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  readonly kind: ProtocolErrorKind;
  constructor(kind: ProtocolErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

const DECODE_LIMITS = {
  maxStrLength: 64 * 1024,
  maxBinLength: Math.max(PAGE_SIZE, MAX_PAYLOAD_BYTES, MAX_MESSAGE_BYTES),
  maxArrayLength: Math.max(MAX_PAGES_PER_FRAME, MAX_FRAMES_PER_MESSAGE),
  maxMapLength: 16,
  maxExtLength: 0,
};

export function encodeMessage(message: ClientMessage | ServerMessage): Uint8Array {
  return encode(message, { ignoreUndefined: true });
}

export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  return decodeMessage(bytes, CLIENT_MESSAGES) as ClientMessage;
}

export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  return decodeMessage(bytes, SERVER_MESSAGES) as ServerMessage;
}

function decodeMessage(bytes: Uint8Array, schemas: Readonly<Record<string, TSchema>>): unknown {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new ProtocolError('oversized', `a message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  let value: unknown;
  try {
    value = decode(bytes, DECODE_LIMITS);
  } catch (error) {
    throw new ProtocolError(
      'malformed',
      `not a message: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (schema === undefined) {
    throw new ProtocolError('malformed', `unknown message type ${JSON.stringify(type)}`);
  }
  if (!Value.Check(schema, value)) {
    const first = Value.Errors(schema, value).First();
    throw new ProtocolError(
      'malformed',
      `invalid ${type} message: ${first?.path || '/'} ${first?.message ?? ''}`.trim(),
    );
  }
  const problem = type === 'hello' ? docIdProblem((value as Hello).docId) : undefined;
  if (problem !== undefined) throw new ProtocolError('malformed', `invalid hello message: ${problem}`);
  return value;
}
