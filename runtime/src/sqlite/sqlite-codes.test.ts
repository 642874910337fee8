import { expect, test } from 'vitest';
import { SQLITE3_FILE, SQLITE3_IO_METHODS, SQLITE3_VFS } from '../vfs/vfs-structs.js';
import { loadSqlite } from './sqlite.js';
import * as codes from './sqlite-codes.js';

const sqlite3 = await loadSqlite();

interface StructInfo {
  readonly name: string;
  readonly sizeof: number;
  readonly members: Record<string, { readonly offset: number; readonly signature: string }>;
}

/** The constants and struct layouts the build reports about itself (sqlite3-wasm.c's enum table). */
const built = JSON.parse(
  sqlite3.cString(
    (sqlite3.exports as unknown as { sqlite3__wasm_enum_json(): number }).sqlite3__wasm_enum_json(),
  ) ?? '{}',
) as Record<string, Record<string, number>> & { structs: StructInfo[] };
const builtConstants = new Map(
  Object.entries(built)
    .filter(([group]) => group !== 'structs')
    .flatMap(([, members]) => Object.entries(members)),
);

test('every constant Tandem names has the value the build reports for it', () => {
  const checked: string[] = [];
  for (const [name, value] of Object.entries(codes)) {
    if (name === 'SQLITE_LIMITS') {
      for (const [limit, id] of Object.entries(value)) {
        expect([`SQLITE_LIMIT_${limit}`, id]).toEqual([
          `SQLITE_LIMIT_${limit}`,
          builtConstants.get(`SQLITE_LIMIT_${limit}`),
        ]);
      }
      continue;
    }
    // SQLITE_TRANSIENT is a destructor pointer, not in the table: ((sqlite3_destructor_type)-1).
    if (name === 'SQLITE_TRANSIENT') continue;
    expect([name, value]).toEqual([name, builtConstants.get(name)]);
    checked.push(name);
  }
  expect(checked.length).toBeGreaterThan(40);
});

test('the VFS structs are laid out as the build lays them out, with the signatures it gives', () => {
  for (const [name, layout] of [
    ['sqlite3_vfs', SQLITE3_VFS],
    ['sqlite3_io_methods', SQLITE3_IO_METHODS],
    ['sqlite3_file', SQLITE3_FILE],
  ] as const) {
    const info = built.structs.find((struct) => struct.name === name);
    expect(info?.sizeof).toBe(layout.sizeof);
    const members = Object.fromEntries(
      Object.entries(info?.members ?? {}).map(([member, { offset, signature }]) => [
        member,
        signature.includes('(') ? [offset, signature] : offset,
      ]),
    );
    expect(members).toEqual({ ...layout.fields, ...layout.methods });
  }
});
