// Splits a SQL script into statements where SQLite's own `sqlite3_complete` (complete.c) says one
// ends: at a `;` outside quotes ('…', "…", `…`, […]) and comments (-- …, /* … */), and, inside
// `CREATE [TEMP] TRIGGER … BEGIN … END;`, only at the `;` after END. The state machine is
// complete.c's, so a script splits as the sqlite3 shell splits it; anything it gets wrong reaches
// the host as two statements in one, which `execute` refuses, never as a silently different split.

const SEMI: i32 = 0;
const WS: i32 = 1;
const OTHER: i32 = 2;
const EXPLAIN: i32 = 3;
const CREATE: i32 = 4;
const TEMP: i32 = 5;
const TRIGGER: i32 = 6;
const END: i32 = 7;

/** complete.c's `trans[state][token]`; states: 0 invalid, 1 start, 2 normal, 3 explain, 4 create,
 * 5 trigger, 6 semi (in a trigger), 7 end (in a trigger). */
// biome-ignore format: complete.c's table, one row per state
const TRANSITIONS: StaticArray<u8> = [
  1, 0, 2, 3, 4, 2, 2, 2,
  1, 1, 2, 3, 4, 2, 2, 2,
  1, 2, 2, 2, 2, 2, 2, 2,
  1, 3, 3, 2, 4, 2, 2, 2,
  1, 4, 2, 2, 2, 4, 5, 2,
  6, 5, 5, 5, 5, 5, 5, 5,
  6, 6, 5, 5, 5, 5, 5, 7,
  1, 7, 5, 5, 5, 5, 5, 5,
];
const START: i32 = 1;

function isIdChar(c: i32): bool {
  return (
    c >= 0x80 ||
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x5f ||
    c === 0x24
  );
}

function keyword(word: string): i32 {
  const w = word.toLowerCase();
  if (w === 'create') return CREATE;
  if (w === 'trigger') return TRIGGER;
  if (w === 'temp' || w === 'temporary') return TEMP;
  if (w === 'end') return END;
  if (w === 'explain') return EXPLAIN;
  return OTHER;
}

/** The statements of `script`, each without its `;`; empty ones (only spaces and comments) left out. */
export function splitScript(script: string): string[] {
  const out: string[] = [];
  const n = script.length;
  let state: i32 = 0;
  let from = 0;
  let i = 0;
  while (i < n) {
    const c = script.charCodeAt(i);
    let token = OTHER;
    if (c === 0x3b) {
      token = SEMI;
      i++;
    } else if (c === 0x20 || c === 0x0d || c === 0x09 || c === 0x0a || c === 0x0c) {
      token = WS;
      i++;
    } else if (c === 0x2f && i + 1 < n && script.charCodeAt(i + 1) === 0x2a) {
      const close = script.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      token = WS;
    } else if (c === 0x2d && i + 1 < n && script.charCodeAt(i + 1) === 0x2d) {
      const eol = script.indexOf('\n', i + 2);
      i = eol < 0 ? n : eol + 1;
      token = WS;
    } else if (c === 0x5b || c === 0x60 || c === 0x22 || c === 0x27) {
      const close = script.indexOf(c === 0x5b ? ']' : String.fromCharCode(c), i + 1);
      i = close < 0 ? n : close + 1;
    } else if (isIdChar(c)) {
      const start = i;
      while (i < n && isIdChar(script.charCodeAt(i))) i++;
      token = keyword(script.substring(start, i));
    } else {
      i++;
    }
    const next = <i32>unchecked(TRANSITIONS[state * 8 + token]);
    if (token === SEMI && next === START) {
      // A statement ends here; a `;` with nothing before it since the last one is skipped.
      if (state !== START && state !== 0) out.push(script.substring(from, i - 1));
      from = i;
    }
    state = next;
  }
  if (state !== START && state !== 0) out.push(script.substring(from));
  return out;
}
