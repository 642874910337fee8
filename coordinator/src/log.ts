// The coordinator's log: one pino logger writing JSON lines (one event per line, `level` as a name,
// ISO `time`), so an operator can read failures next to the counters of `/metrics`.
//
// Convention: every line has a short `msg` naming the event ("document failed", "auth refused") and
// structured fields (`docId`, `kind`, `code`, …); every warn/error line has a counter beside it in
// metrics.ts. The default destination is standard error, written synchronously: a line logged just
// before the process exits is not lost, and standard output stays the CLI's human-readable lines.

import { TandemError } from '@tandem/runtime';
import { type DestinationStream, type Logger, pino } from 'pino';

export type Log = Logger;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The environment variable read when no level is given. */
export const LOG_LEVEL_ENV = 'TANDEM_LOG_LEVEL';

export interface LogOptions {
  /** The lowest level written; `TANDEM_LOG_LEVEL`, else `info`, when absent. */
  readonly level?: LogLevel;
  /** Where the JSON lines go (tests pass a stream to read them); standard error by default. */
  readonly destination?: DestinationStream;
}

export function createLog(options: LogOptions = {}): Log {
  const level = options.level ?? levelFromEnv();
  return pino(
    {
      level,
      base: { service: 'tandem-coordinator' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 2, sync: true }),
  );
}

/** Whether `text` names a level (for checking a flag or the environment). */
export function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/** An error as log fields: its kind and structured fields for a TandemError, its message always. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof TandemError) return { kind: error.kind, error: error.message, ...error.fields };
  return { error: error instanceof Error ? error.message : String(error) };
}

function levelFromEnv(): LogLevel {
  const text = process.env[LOG_LEVEL_ENV];
  if (text === undefined || text === '') return 'info';
  if (!isLogLevel(text)) {
    throw new TandemError(
      'invalid-argument',
      `${LOG_LEVEL_ENV}=${text}: expected one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return text;
}
