import { expect, test } from 'vitest';
import { CLIENT_MESSAGES, SERVER_MESSAGES } from './codec.js';
import { PROTOCOL_VERSION } from './version.js';

/** SHA-256 of the message schemas as JSON: any change to what travels on the wire changes it. */
async function schemaHash(): Promise<string> {
  const json = JSON.stringify({ client: CLIENT_MESSAGES, server: SERVER_MESSAGES, encoding: 'msgpack' });
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(json)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

test('the wire format changes only together with PROTOCOL_VERSION (update both, and version.ts history)', async () => {
  expect({ version: PROTOCOL_VERSION, schemas: await schemaHash() }).toEqual({
    version: 3,
    schemas: '2f4f77ac9a636f4c20afe938294ce946047c85ea639d718c939a1b9839682164',
  });
});
