// Which source each byte of a built JavaScript file came from, read from its source map (v3): a
// generated segment's bytes run to the next segment of its line; bytes no segment covers (the
// bundler's glue between modules) have no source.

export interface SourceMapV3 {
  readonly sources: readonly string[];
  readonly sourceRoot?: string;
  readonly mappings: string;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((char, value) => [char, value]));

/** The Base64 VLQ fields of one segment. */
function decodeSegment(segment: string): number[] {
  const fields: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = DIGIT.get(char);
    if (digit === undefined) throw new Error(`not a base64 VLQ digit: ${char}`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  return fields;
}

/**
 * Splits `code` by source: for each source index (or -1: no source), the text it produced, in order.
 * Columns are UTF-16 offsets into each line, as source maps count them.
 */
export function splitBySource(code: string, map: SourceMapV3): Map<number, string[]> {
  const pieces = new Map<number, string[]>();
  const add = (source: number, text: string) => {
    if (text.length === 0) return;
    const list = pieces.get(source) ?? [];
    list.push(text);
    pieces.set(source, list);
  };
  const lines = code.split('\n');
  const mappedLines = map.mappings.split(';');
  let source = 0;
  lines.forEach((line, index) => {
    const starts: { column: number; source: number }[] = [];
    let column = 0;
    for (const segment of (mappedLines[index] ?? '').split(',')) {
      if (segment === '') continue;
      const fields = decodeSegment(segment);
      column += fields[0] ?? 0;
      if (fields.length >= 4) {
        source += fields[1] ?? 0;
        starts.push({ column, source });
      } else {
        starts.push({ column, source: -1 });
      }
    }
    add(-1, line.slice(0, starts[0]?.column ?? line.length));
    for (const [k, start] of starts.entries()) {
      add(start.source, line.slice(start.column, starts[k + 1]?.column ?? line.length));
    }
    if (index < lines.length - 1) add(-1, '\n');
  });
  return pieces;
}
