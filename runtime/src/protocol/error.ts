// coordinator → client: why the coordinator is closing the connection or refusing a request.
import { type Static, Type } from '@sinclair/typebox';
import { MAX_REASON_LENGTH } from './limits.js';

export const ERROR_KINDS = [
  /** A message that does not decode or validate; the connection closes. */
  'malformed',
  /** A protocol version the coordinator does not speak. */
  'unsupported-version',
  /** The token does not grant this document. */
  'unauthorized',
  /** The timeline is bound to another client's secret: this client can never write on it. */
  'timeline-taken',
  /** A message, rate or size quota was exceeded; retry after `retryAfterMs`. */
  'quota',
  /** A message that makes no sense now (e.g. a push before hello). */
  'unexpected',
  /** The coordinator failed; retry after `retryAfterMs`. */
  'internal',
  /**
   * The document's storage on the coordinator holds less than it acknowledged: it is refused to every
   * client until an operator recovers it; retry after `retryAfterMs`. Other documents are served.
   */
  'document-unavailable',
] as const;

export const ErrorMessage = Type.Object(
  {
    type: Type.Literal('error'),
    kind: Type.Union(ERROR_KINDS.map((kind) => Type.Literal(kind))),
    message: Type.String({ maxLength: MAX_REASON_LENGTH }),
    retryAfterMs: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type ErrorMessage = Static<typeof ErrorMessage>;
