// Where the UTF-8 of a string already lies in memory, for long strings the JSON decoder made from a
// plain slice of its input: lowering such a string for the host points at those bytes instead of
// measuring and encoding it again. Invariants:
// 1. An entry pairs a live string with a copy of its UTF-8 that nothing can write (json.parse decodes a
//    private copy of its input). Both live until the `__collect()` that ends the export, and every entry
//    is forgotten before it (glue.ts): an address reused after a collection never finds an old entry.
// 2. Only strings whose UTF-8 is exactly those bytes are entered: ASCII without escapes, one byte per
//    UTF-16 unit, so the bytes are `s.length` long.
// 3. A string cannot change, so an entry stays true for as long as it is kept.

const SIZE = 16;
/** String addresses (not references: the entries keep nothing alive, invariant 1) and their bytes. */
const strings = new StaticArray<usize>(SIZE);
const origins = new StaticArray<usize>(SIZE);
let next = 0;

/** Notes that `s`'s UTF-8 is the `s.length` bytes at `utf8` (invariant 2); the oldest entry makes room. */
export function noteOrigin(s: usize, utf8: usize): void {
  strings[next] = s;
  origins[next] = utf8;
  next = (next + 1) & (SIZE - 1);
}

/** Where `s`'s UTF-8 lies, or 0 when it was not noted. */
export function originOf(s: string): usize {
  const at = changetype<usize>(s);
  for (let i = 0; i < SIZE; i++) if (unchecked(strings[i]) === at) return unchecked(origins[i]);
  return 0;
}

/** Forgets every entry: called before each `__collect()` (invariant 1). */
export function forgetOrigins(): void {
  for (let i = 0; i < SIZE; i++) strings[i] = 0;
  next = 0;
}
