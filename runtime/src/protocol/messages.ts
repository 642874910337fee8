// The protocol's messages, by direction and `type`: their TypeBox schemas, the single source of their
// types and of the wire's shape. The codec does not import this module (nor TypeBox): it checks
// messages against these schemas' JSON form, generated into wire-schemas.ts and held equal to them by
// wire-schemas.test.ts, so that a client decoding messages loads no schema library.
import type { TSchema } from '@sinclair/typebox';
import type { ClientMessage, ServerMessage } from './codec.js';
import { ErrorMessage } from './error.js';
import { Frames } from './frames.js';
import { AskHead, Head } from './head.js';
import { Hello } from './hello.js';
import { Ping, Pong } from './ping.js';
import { Push } from './push.js';
import { PushResult } from './push-result.js';
import { Redirect } from './redirect.js';
import { Snapshot } from './snapshot.js';
import { Welcome } from './welcome.js';

/** The messages each side may send, by `type`. */
export const CLIENT_MESSAGES: Readonly<Record<ClientMessage['type'], TSchema>> = {
  hello: Hello,
  push: Push,
  ping: Ping,
  pong: Pong,
  'ask-head': AskHead,
};
export const SERVER_MESSAGES: Readonly<Record<ServerMessage['type'], TSchema>> = {
  welcome: Welcome,
  'push-result': PushResult,
  frames: Frames,
  snapshot: Snapshot,
  error: ErrorMessage,
  ping: Ping,
  pong: Pong,
  head: Head,
  redirect: Redirect,
};
