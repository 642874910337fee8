// The wire: every message is one msgpack value (binary fields travel as msgpack bin, never base64),
// validated against its schema before it is returned. Decoding is total: whatever the bytes, the
// result is a message of the expected direction or a ProtocolError, never a crash, and never an
// allocation beyond the protocol's bounds.
//
// Since protocol v4 a message travels positionally: `[tag, field, …]`, each object as the array of
// its schema's properties in declaration order (nested ones too), so no key names cross the wire (a
// lone small mutation's frame lost ~90 bytes of them). The schemas stay what is checked: a decoded
// message is rebuilt as the object its schema describes, then validated.
//
// The schemas are read in their JSON form (wire-schemas.ts, generated from messages.ts and held equal
// to it by a test) and checked by schema-check.ts: decoding loads no schema library (TypeBox is ~250
// modules, most of a syncing client's import of this module).
//
// Invariants:
// 1. Layout is derived from the schemas (property order) and MESSAGE_TAGS, never written by hand: a
//    schema change changes the layout, and protocol-version.test.ts asks for a version bump.
// 2. Nothing invalid becomes valid on the way: an object with a property missing or one its schema
//    does not have travels as a map, which decodes to no object at all, and an array of the wrong
//    length likewise; validation then refuses the message.

import { Decoder, encode } from '@msgpack/msgpack';
import { PAGE_SIZE } from '../vfs/page-store.js';
import { docIdProblem } from './doc-id.js';
import type { ErrorMessage } from './error.js';
import type { Frames } from './frames.js';
import type { AskHead, Head } from './head.js';
import type { Hello } from './hello.js';
import {
  MAX_FRAMES_PER_MESSAGE,
  MAX_MESSAGE_BYTES,
  MAX_PAGES_PER_FRAME,
  MAX_PAYLOAD_BYTES,
} from './limits.js';
import type { Ping, Pong } from './ping.js';
import { ProtocolError } from './protocol-error.js';
import type { Push } from './push.js';
import type { PushResult } from './push-result.js';
import type { Redirect } from './redirect.js';
import { schemaProblem, type WireSchema } from './schema-check.js';
import type { Snapshot } from './snapshot.js';
import type { Welcome } from './welcome.js';
import { WIRE_SCHEMAS } from './wire-schemas.js';

export type ClientMessage = Hello | Push | Ping | Pong | AskHead;
export type ServerMessage =
  | Welcome
  | PushResult
  | Frames
  | Snapshot
  | ErrorMessage
  | Ping
  | Pong
  | Head
  | Redirect;

/** The messages each side may send (their schemas: messages.ts). */
const CLIENT_TYPES: ReadonlySet<string> = new Set<ClientMessage['type']>([
  'hello',
  'push',
  'ping',
  'pong',
  'ask-head',
]);
const SERVER_TYPES: ReadonlySet<string> = new Set<ServerMessage['type']>([
  'welcome',
  'push-result',
  'frames',
  'snapshot',
  'error',
  'ping',
  'pong',
  'head',
  'redirect',
]);

export { ProtocolError, type ProtocolErrorKind } from './protocol-error.js';

const DECODE_LIMITS = {
  maxStrLength: 64 * 1024,
  maxBinLength: Math.max(PAGE_SIZE, MAX_PAYLOAD_BYTES, MAX_MESSAGE_BYTES),
  maxArrayLength: Math.max(MAX_PAGES_PER_FRAME, MAX_FRAMES_PER_MESSAGE),
  maxMapLength: 16,
  maxExtLength: 0,
};

/**
 * One decoder for every message: `decode` builds a Decoder per call (its state and key cache), a few %
 * of a receiving client's CPU per frame. Re-entry is safe: a Decoder busy decoding clones itself.
 */
const decoder = new Decoder(DECODE_LIMITS);

/** Each message type's tag, the first element of its array (v4). */
export const MESSAGE_TAGS = [
  'hello',
  'push',
  'ping',
  'pong',
  'welcome',
  'push-result',
  'frames',
  'snapshot',
  'error',
  'ask-head',
  'head',
  'redirect',
] as const satisfies readonly (ClientMessage | ServerMessage)['type'][];

interface Layout {
  pack(value: unknown): unknown;
  unpack(value: unknown): unknown;
}

const AS_IS: Layout = { pack: (value) => value, unpack: (value) => value };

/** How values of `schema` travel (invariant 1). */
function layout(schema: WireSchema, skip?: string): Layout {
  switch (schema.anyOf === undefined ? schema.type : 'union') {
    case 'object': {
      const properties = schema.properties ?? {};
      const keys = Object.keys(properties).filter((key) => key !== skip);
      const fields = keys.map((key) => layout(properties[key]!));
      const count = keys.length + (skip === undefined ? 0 : 1);
      return {
        pack(value) {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
          const object = value as Record<string, unknown>;
          let present = 0;
          for (const key in object) if (object[key] !== undefined) present++;
          // A property missing or unknown: kept as a map, which never unpacks to an object (invariant 2).
          if (present !== count || keys.some((key) => object[key] === undefined)) return object;
          return keys.map((key, i) => fields[i]!.pack(object[key]));
        },
        unpack(value) {
          if (!Array.isArray(value) || value.length !== keys.length) return undefined;
          const object: Record<string, unknown> = {};
          for (let i = 0; i < keys.length; i++) object[keys[i]!] = fields[i]!.unpack(value[i]);
          return object;
        },
      };
    }
    case 'array': {
      if (schema.items === undefined) return AS_IS;
      const items = layout(schema.items);
      if (items === AS_IS) return AS_IS;
      return {
        pack: (value) => (Array.isArray(value) ? value.map((item) => items.pack(item)) : value),
        unpack: (value) => (Array.isArray(value) ? value.map((item) => items.unpack(item)) : value),
      };
    }
    case 'union': {
      // The protocol's unions are of scalars, or of null and one object.
      const object = schema.anyOf?.find((member) => member.type === 'object');
      if (object === undefined) return AS_IS;
      const inner = layout(object);
      return {
        pack: (value) => (value === null ? null : inner.pack(value)),
        unpack: (value) => (value === null ? null : inner.unpack(value)),
      };
    }
    default:
      return AS_IS;
  }
}

const LAYOUTS = new Map<string, Layout>(
  Object.entries(WIRE_SCHEMAS).map(([type, schema]) => [type, layout(schema, 'type')]),
);

export function encodeMessage(message: ClientMessage | ServerMessage): Uint8Array {
  const type = (message as { type?: unknown } | null)?.type;
  const tag = MESSAGE_TAGS.indexOf(type as (typeof MESSAGE_TAGS)[number]);
  const packed = tag < 0 ? message : LAYOUTS.get(type as string)!.pack(message);
  // A message that does not fit its layout goes as it is, and is refused where it arrives.
  return encode(Array.isArray(packed) ? [tag, ...packed] : packed, { ignoreUndefined: true });
}

/** `message` as protocols v1–v3 encoded it (a msgpack map): only to tell an old client it is refused. */
export function encodeKeyedMessage(message: ServerMessage): Uint8Array {
  return encode(message, { ignoreUndefined: true });
}

export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  return decodeMessage(bytes, CLIENT_TYPES) as ClientMessage;
}

export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  return decodeMessage(bytes, SERVER_TYPES) as ServerMessage;
}

function decodeMessage(bytes: Uint8Array, types: ReadonlySet<string>): unknown {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    throw new ProtocolError('oversized', `a message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (error) {
    throw new ProtocolError(
      'malformed',
      `not a message: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const keyed = typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  if (keyed !== undefined && 'type' in keyed && keyed.type === 'hello') {
    const version = 'protocolVersion' in keyed ? keyed.protocolVersion : undefined;
    throw new ProtocolError(
      'malformed',
      'a keyed hello (protocol v3 or older)',
      typeof version === 'number' ? version : 0,
    );
  }
  const tag = Array.isArray(value) ? value[0] : undefined;
  const type = typeof tag === 'number' ? MESSAGE_TAGS[tag] : undefined;
  const schema = type !== undefined && types.has(type) ? WIRE_SCHEMAS[type] : undefined;
  if (schema === undefined) {
    throw new ProtocolError('malformed', `unknown message type ${JSON.stringify(tag ?? null)}`);
  }
  const fields = LAYOUTS.get(type!)!.unpack((value as unknown[]).slice(1));
  value = fields === undefined ? undefined : { type, ...(fields as object) };
  const invalid = schemaProblem(schema, value);
  if (invalid !== undefined) throw new ProtocolError('malformed', `invalid ${type} message: ${invalid}`);
  const problem = type === 'hello' ? docIdProblem((value as Hello).docId) : undefined;
  if (problem !== undefined) throw new ProtocolError('malformed', `invalid hello message: ${problem}`);
  return value;
}
