import { expect, test } from 'vitest';
import { MESSAGE_TAGS } from './codec.js';
import { CLIENT_MESSAGES, SERVER_MESSAGES } from './messages.js';
import { DELTA_ENCODINGS } from './page-delta.js';
import { PROTOCOL_VERSION } from './version.js';

/** SHA-256 of the message schemas as JSON: any change to what travels on the wire changes it. */
async function schemaHash(): Promise<string> {
  const json = JSON.stringify({
    client: CLIENT_MESSAGES,
    server: SERVER_MESSAGES,
    encoding: 'msgpack, positional',
    tags: MESSAGE_TAGS,
    delta: DELTA_ENCODINGS,
  });
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(json)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

test('the wire format changes only together with PROTOCOL_VERSION (update both, and version.ts history)', async () => {
  expect({ version: PROTOCOL_VERSION, schemas: await schemaHash() }).toEqual({
    version: 6,
    schemas: 'b9205c8fc8e912704573d95f043d2ceed288b6ad93f4e8d81f59f6739653abea',
  });
});
