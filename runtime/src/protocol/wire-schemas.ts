// Generated from the message schemas (messages.ts) by wire-schemas.test.ts: do not edit; after a schema
// change, `npx vitest run runtime/src/protocol/wire-schemas.test.ts -u` writes it again. The codec checks
// messages against this plain data (schema-check.ts), so that decoding loads no schema library.
import type { WireSchema } from './schema-check.js';

// biome-ignore format: generated
export const WIRE_SCHEMAS: Readonly<Record<string, WireSchema>> = {
  "hello": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "protocolVersion",
      "docId",
      "timelineId",
      "timelineSecret",
      "journalId",
      "cursor",
      "reducerHash",
      "token"
    ],
    "properties": {
      "type": {
        "const": "hello",
        "type": "string"
      },
      "protocolVersion": {
        "minimum": 0,
        "type": "integer"
      },
      "docId": {
        "minLength": 1,
        "maxLength": 256,
        "pattern": "^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$",
        "type": "string"
      },
      "timelineId": {
        "minLength": 1,
        "maxLength": 256,
        "pattern": "^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$",
        "type": "string"
      },
      "timelineSecret": {
        "pattern": "^[0-9a-f]{32,128}$",
        "type": "string"
      },
      "journalId": {
        "anyOf": [
          {
            "minLength": 1,
            "maxLength": 256,
            "pattern": "^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$",
            "type": "string"
          },
          {
            "type": "null"
          }
        ]
      },
      "cursor": {
        "minimum": 0,
        "maximum": 9007199254740991,
        "type": "integer"
      },
      "reducerHash": {
        "pattern": "^[0-9a-f]{64}$",
        "type": "string"
      },
      "token": {
        "anyOf": [
          {
            "maxLength": 4096,
            "type": "string"
          },
          {
            "type": "null"
          }
        ]
      }
    }
  },
  "push": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "mutations"
    ],
    "properties": {
      "type": {
        "const": "push",
        "type": "string"
      },
      "mutations": {
        "minItems": 1,
        "maxItems": 1000,
        "type": "array",
        "items": {
          "additionalProperties": false,
          "type": "object",
          "required": [
            "lsn",
            "timestamp",
            "payload"
          ],
          "properties": {
            "lsn": {
              "minimum": 0,
              "maximum": 9007199254740991,
              "type": "integer"
            },
            "timestamp": {
              "minimum": 0,
              "maximum": 9007199254740991,
              "type": "integer"
            },
            "payload": {
              "maxByteLength": 1048576,
              "type": "Uint8Array"
            }
          }
        }
      }
    }
  },
  "ping": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "id"
    ],
    "properties": {
      "type": {
        "const": "ping",
        "type": "string"
      },
      "id": {
        "minimum": 0,
        "maximum": 2147483648,
        "type": "integer"
      }
    }
  },
  "pong": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "id"
    ],
    "properties": {
      "type": {
        "const": "pong",
        "type": "string"
      },
      "id": {
        "minimum": 0,
        "maximum": 2147483648,
        "type": "integer"
      }
    }
  },
  "ask-head": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "id"
    ],
    "properties": {
      "type": {
        "const": "ask-head",
        "type": "string"
      },
      "id": {
        "minimum": 0,
        "maximum": 2147483648,
        "type": "integer"
      }
    }
  },
  "welcome": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "journalId",
      "head",
      "reducerHash",
      "appliedLsn"
    ],
    "properties": {
      "type": {
        "const": "welcome",
        "type": "string"
      },
      "journalId": {
        "minLength": 1,
        "maxLength": 256,
        "pattern": "^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$",
        "type": "string"
      },
      "head": {
        "minimum": 0,
        "maximum": 9007199254740991,
        "type": "integer"
      },
      "reducerHash": {
        "pattern": "^[0-9a-f]{64}$",
        "type": "string"
      },
      "appliedLsn": {
        "minimum": -1,
        "maximum": 9007199254740991,
        "type": "integer"
      }
    }
  },
  "push-result": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "appliedLsn",
      "frameLsn",
      "rejected",
      "refused"
    ],
    "properties": {
      "type": {
        "const": "push-result",
        "type": "string"
      },
      "appliedLsn": {
        "minimum": -1,
        "maximum": 9007199254740991,
        "type": "integer"
      },
      "frameLsn": {
        "anyOf": [
          {
            "minimum": 0,
            "maximum": 9007199254740991,
            "type": "integer"
          },
          {
            "type": "null"
          }
        ]
      },
      "rejected": {
        "maxItems": 1000,
        "type": "array",
        "items": {
          "additionalProperties": false,
          "type": "object",
          "required": [
            "lsn",
            "reason"
          ],
          "properties": {
            "lsn": {
              "minimum": 0,
              "maximum": 9007199254740991,
              "type": "integer"
            },
            "reason": {
              "maxLength": 4096,
              "type": "string"
            }
          }
        }
      },
      "refused": {
        "anyOf": [
          {
            "type": "null"
          },
          {
            "additionalProperties": false,
            "type": "object",
            "required": [
              "kind",
              "message",
              "expectedLsn"
            ],
            "properties": {
              "kind": {
                "anyOf": [
                  {
                    "const": "gap",
                    "type": "string"
                  },
                  {
                    "const": "invalid-mutation",
                    "type": "string"
                  }
                ]
              },
              "message": {
                "maxLength": 4096,
                "type": "string"
              },
              "expectedLsn": {
                "anyOf": [
                  {
                    "minimum": 0,
                    "maximum": 9007199254740991,
                    "type": "integer"
                  },
                  {
                    "type": "null"
                  }
                ]
              }
            }
          }
        ]
      }
    }
  },
  "frames": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "frames",
      "more"
    ],
    "properties": {
      "type": {
        "const": "frames",
        "type": "string"
      },
      "frames": {
        "minItems": 1,
        "maxItems": 256,
        "type": "array",
        "items": {
          "additionalProperties": false,
          "type": "object",
          "required": [
            "lsn",
            "pageCount",
            "pages"
          ],
          "properties": {
            "lsn": {
              "minimum": 0,
              "maximum": 9007199254740991,
              "type": "integer"
            },
            "pageCount": {
              "minimum": 0,
              "maximum": 2147483648,
              "type": "integer"
            },
            "pages": {
              "maxItems": 65536,
              "type": "array",
              "items": {
                "additionalProperties": false,
                "type": "object",
                "required": [
                  "pgno",
                  "delta"
                ],
                "properties": {
                  "pgno": {
                    "minimum": 1,
                    "maximum": 2147483648,
                    "type": "integer"
                  },
                  "delta": {
                    "minByteLength": 1,
                    "maxByteLength": 4160,
                    "type": "Uint8Array"
                  }
                }
              }
            }
          }
        }
      },
      "more": {
        "type": "boolean"
      }
    }
  },
  "snapshot": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "image"
    ],
    "properties": {
      "type": {
        "const": "snapshot",
        "type": "string"
      },
      "image": {
        "minByteLength": 1,
        "maxByteLength": 67108800,
        "type": "Uint8Array"
      }
    }
  },
  "error": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "kind",
      "message",
      "retryAfterMs"
    ],
    "properties": {
      "type": {
        "const": "error",
        "type": "string"
      },
      "kind": {
        "anyOf": [
          {
            "const": "malformed",
            "type": "string"
          },
          {
            "const": "unsupported-version",
            "type": "string"
          },
          {
            "const": "unauthorized",
            "type": "string"
          },
          {
            "const": "timeline-taken",
            "type": "string"
          },
          {
            "const": "quota",
            "type": "string"
          },
          {
            "const": "unexpected",
            "type": "string"
          },
          {
            "const": "internal",
            "type": "string"
          },
          {
            "const": "document-unavailable",
            "type": "string"
          }
        ]
      },
      "message": {
        "maxLength": 4096,
        "type": "string"
      },
      "retryAfterMs": {
        "anyOf": [
          {
            "minimum": 0,
            "type": "integer"
          },
          {
            "type": "null"
          }
        ]
      }
    }
  },
  "head": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "id",
      "journalId",
      "head"
    ],
    "properties": {
      "type": {
        "const": "head",
        "type": "string"
      },
      "id": {
        "minimum": 0,
        "maximum": 2147483648,
        "type": "integer"
      },
      "journalId": {
        "minLength": 1,
        "maxLength": 256,
        "pattern": "^(?:[^\\uD800-\\uDFFF]|[\\uD800-\\uDBFF][\\uDC00-\\uDFFF])*$",
        "type": "string"
      },
      "head": {
        "minimum": 0,
        "maximum": 9007199254740991,
        "type": "integer"
      }
    }
  },
  "redirect": {
    "additionalProperties": false,
    "type": "object",
    "required": [
      "type",
      "url",
      "message"
    ],
    "properties": {
      "type": {
        "const": "redirect",
        "type": "string"
      },
      "url": {
        "maxLength": 2048,
        "pattern": "^wss?://[^\\s]+$",
        "type": "string"
      },
      "message": {
        "maxLength": 4096,
        "type": "string"
      }
    }
  }
};
