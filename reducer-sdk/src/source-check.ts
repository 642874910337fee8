// The determinism check on the reducer's sources, before they are compiled: calls that would give each
// replica a different answer (the clock, console output the world does not carry) are named with their
// `file:line:column` relative to the reducer's folder, in a fraction of a second rather than after asc's
// seconds. Comments and string or template text are blanked first, so a mention of `Date.now` there is
// not a use. The compiled module's imports are still checked afterwards (core-check.ts): that check
// also covers code this scan does not read (a library under node_modules).

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { advice } from './core-check.js';
import { SdkError } from './errors.js';

/** A use found in a source, with the core import it compiles to (whose advice names the fix). */
export interface SourceUse {
  /** The import the call compiles to, e.g. `env.Date.now`. */
  readonly import: string;
  readonly line: number;
  readonly column: number;
}

const PATTERNS: readonly { readonly pattern: RegExp; readonly import: (match: string) => string }[] = [
  { pattern: /\bDate\s*\.\s*now\b/g, import: () => 'env.Date.now' },
  { pattern: /\bperformance\s*\.\s*now\b/g, import: () => 'env.performance.now' },
  {
    pattern: /\bconsole\s*\.\s*[A-Za-z_$][\w$]*/g,
    import: (match) => `env.console.${match.replace(/^console\s*\.\s*/, '')}`,
  },
];

/** `source` with every comment and string or template text replaced by spaces (line breaks kept). */
export function blankNonCode(source: string): string {
  const out = source.split('');
  const blank = (from: number, to: number): void => {
    for (let k = from; k < Math.min(to, out.length); k++) if (out[k] !== '\n') out[k] = ' ';
  };
  /** For each open template substitution `${`, the brace depth its closing `}` returns to. */
  const templates: number[] = [];
  let braces = 0;
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === '/' && source[i + 1] === '/') {
      const end = source.indexOf('\n', i);
      const to = end < 0 ? source.length : end;
      blank(i, to);
      i = to;
    } else if (c === '/' && source[i + 1] === '*') {
      const end = source.indexOf('*/', i + 2);
      const to = end < 0 ? source.length : end + 2;
      blank(i, to);
      i = to;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== '\n') j += source[j] === '\\' ? 2 : 1;
      blank(i, j + 1);
      i = j + 1;
    } else if (c === '`' || (c === '}' && templates.length > 0 && templates.at(-1) === braces)) {
      if (c === '}') templates.pop();
      let j = i + 1;
      while (j < source.length && source[j] !== '`' && !(source[j] === '$' && source[j + 1] === '{')) {
        j += source[j] === '\\' ? 2 : 1;
      }
      if (source[j] === '$') {
        blank(i, j);
        templates.push(braces);
        i = j + 2;
      } else {
        blank(i, j + 1);
        i = j + 1;
      }
    } else {
      if (c === '{') braces++;
      else if (c === '}') braces--;
      i++;
    }
  }
  return out.join('');
}

/** Every call in `source` that would differ between replicas, in source order. */
export function findNondeterministicUses(source: string): SourceUse[] {
  const code = blankNonCode(source);
  const lineStarts = [0];
  for (let k = 0; k < code.length; k++) if (code[k] === '\n') lineStarts.push(k + 1);
  const uses: (SourceUse & { readonly at: number })[] = [];
  for (const { pattern, import: importOf } of PATTERNS) {
    for (const match of code.matchAll(pattern)) {
      let line = lineStarts.length - 1;
      while ((lineStarts[line] ?? 0) > match.index) line--;
      const column = match.index - (lineStarts[line] ?? 0) + 1;
      uses.push({ import: importOf(match[0]), line: line + 1, column, at: match.index });
    }
  }
  return uses.sort((a, b) => a.at - b.at).map(({ at: _, ...use }) => use);
}

/**
 * Reads every `.ts` file under `<dir>/assembly/` and throws `forbidden-import` naming each kind of
 * use once, with every place it occurs as `assembly/…:line:column`.
 */
export async function checkSources(dir: string): Promise<void> {
  const root = join(dir, 'assembly');
  const files = (await readdir(root, { recursive: true }))
    .filter((f) => f.endsWith('.ts') && !f.split(/[\\/]/).includes('node_modules'))
    .sort();
  const places = new Map<string, string[]>();
  for (const file of files) {
    const shown = ['assembly', ...file.split(/[\\/]/)].join('/');
    for (const use of findNondeterministicUses(await readFile(join(root, file), 'utf8'))) {
      const at = places.get(use.import) ?? [];
      at.push(`${shown}:${use.line}:${use.column}`);
      places.set(use.import, at);
    }
  }
  if (places.size === 0) return;
  const problems = [...places].map(([name, at]) => `${advice(name)} (at ${at.join(', ')})`);
  throw new SdkError('forbidden-import', `the reducer ${problems.join('; ')}`);
}
