// The guest side of the ABI, checked through jco's own bindings (not this SDK's, not the runtime's).
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { beforeAll, describe, expect, test } from 'vitest';
import { buildReducer } from './build.js';
import {
  buildFixture,
  type Call,
  FakeHost,
  type JcoReducer,
  jcoBindings,
  mutation,
  reducerDir,
  type SqlValue,
} from './guest.test-helpers.js';

let instantiate: (host: FakeHost) => Promise<JcoReducer>;

beforeAll(async () => {
  const built = await buildFixture('probe');
  instantiate = await jcoBindings(built.component);
});

async function run(...payloads: string[]) {
  const host = new FakeHost();
  const reducer = await instantiate(host);
  const outcomes = host.reduce(
    reducer,
    payloads.map((p, i) => mutation(p, i)),
  );
  return { host, reducer, outcomes };
}

function callsTo(host: FakeHost, sql: string): Call[] {
  return host.calls.filter((c) => c.sql === sql);
}

function params(call: Call | undefined): SqlValue[] {
  if (call === undefined || call.fn === 'executeBatch') throw new Error('expected an execute or query call');
  return call.params;
}

describe('exports', () => {
  test('schema-version returns the SCHEMA_VERSION the author exported', async () => {
    const reducer = await instantiate(new FakeHost());
    expect(reducer.schemaVersion()).toBe(7);
  });

  test('migrate runs the author’s migrate with the version it is given, and its rejection is an err', async () => {
    const host = new FakeHost();
    const reducer = await instantiate(host);
    expect(reducer.migrate(3)).toBeUndefined();
    const [from, , now] = params(callsTo(host, 'migrate')[0]);
    expect(from).toEqual({ tag: 'integer', val: 3n });
    expect(now).toEqual({ tag: 'integer', val: 42n });
    expect(() => reducer.migrate(99)).toThrow(
      expect.objectContaining({ payload: 'cannot migrate from 99 ✗' }),
    );
  });

  test('reduce returns one outcome per mutation, in order, with unicode reasons intact', async () => {
    const { outcomes } = await run('reject', 'values', 'nonsense', 'log');
    expect(outcomes).toEqual([
      { tag: 'err', val: 'nein ✗ 🚫' },
      { tag: 'ok' },
      { tag: 'err', val: "unknown probe 'nonsense'" },
      { tag: 'ok' },
    ]);
  });

  test('an empty batch returns an empty list', async () => {
    const { outcomes } = await run();
    expect(outcomes).toEqual([]);
  });

  test('each mutation is entered before the reducer sees it, and the batch length is entered after the last', async () => {
    const { host } = await run('log', 'log', 'log');
    expect(host.entered).toEqual([0, 1, 2, 3]);
  });

  test('a trap in the reducer surfaces as a trap, not as an outcome', async () => {
    await expect(run('values', 'trap')).rejects.toThrow(/unreachable/);
  });

  test("abort(message) reaches the host at log level abort with the reducer's file:line:column, then traps", async () => {
    const source = await readFile(
      new URL('../test-fixtures/probe/assembly/index.ts', import.meta.url),
      'utf8',
    );
    const lines = source.split('\n');
    const line = lines.findIndex((l) => l.includes("abort('x must be positive')")) + 1;
    const column = lines[line - 1]!.indexOf("abort('x") + 1;
    const host = new FakeHost();
    const reducer = await instantiate(host);
    expect(() => host.reduce(reducer, [mutation('abort')])).toThrow(/unreachable/);
    expect(host.logs).toEqual([['abort', `x must be positive at assembly/index.ts:${line}:${column}`]]);
  });

  test("an index out of range aborts with AssemblyScript's own message and place", async () => {
    const host = new FakeHost();
    const reducer = await instantiate(host);
    expect(() => host.reduce(reducer, [mutation('index')])).toThrow(/unreachable/);
    expect(host.logs).toEqual([
      ['abort', expect.stringMatching(/^Index out of range at ~lib\/array\.ts:\d+:\d+$/)],
    ]);
  });
});

describe('executeScript', () => {
  const script = [
    "CREATE TABLE a (x TEXT DEFAULT ';')",
    " INSERT INTO a VALUES ('it''s; fine'), (\"q;\"), ([b;]), (`c;`) -- a comment; still one\n",
    " /* ; */ CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT ';'; END",
    ' ;',
    ' explain create trigger u after delete on a begin delete from a; end',
    '\n  SELECT 2 ',
  ];

  test('runs each statement as SQLite splits a script: quotes, comments, trigger bodies, empty statements', async () => {
    const { host, outcomes } = await run(`script:${script.join(';')}`);
    expect(outcomes).toEqual([{ tag: 'err', val: '0|0|ok' }]);
    expect(host.calls.map((c) => c.sql)).toEqual(script.filter((s) => s.trim() !== ';'));
    expect(host.calls.every((c) => c.fn === 'execute' && c.params.length === 0)).toBe(true);
  });

  test('stops at the first error, naming the statement, with its code', async () => {
    const { host, outcomes } = await run('script:SELECT 1;FAIL here; SELECT 3');
    expect(outcomes).toEqual([{ tag: 'err', val: '0|1|statement 2: no such table: FAIL here' }]);
    expect(host.calls.map((c) => c.sql)).toEqual(['SELECT 1', 'FAIL here']);
  });

  test('any script made of statements holding quoted, commented and trigger-body semicolons splits into those statements', async () => {
    const seed = Number(process.env.FC_SEED ?? 0x5c41);
    const host = new FakeHost();
    const reducer = await instantiate(host);
    const word = fc.constantFrom('SELECT', '1', 'x', 'a_b', '$v', 'end', 'temp', 'ü', '(', ')', ',');
    const piece = fc.oneof(
      word,
      fc.constantFrom("'a;b'", "'it''s;'", '"q;"', '`c;`', '[b;]', '/* ; */', '-- one; two\n'),
    );
    const statement = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.tuple(word, fc.array(piece, { maxLength: 5 })).map(([w, ps]) => [w, ...ps].join(' ')),
      },
      {
        weight: 1,
        arbitrary: fc.constant("CREATE TEMP TRIGGER t AFTER INSERT ON a BEGIN SELECT 1; SELECT ';'; END"),
      },
    );
    fc.assert(
      fc.property(
        fc.array(statement, { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        (statements, trailing) => {
          const script = statements.join(';') + (trailing ? ';' : '');
          const before = host.calls.length;
          expect(host.reduce(reducer, [mutation(`script:${script}`)])).toEqual([
            { tag: 'err', val: '0|0|ok' },
          ]);
          expect(host.calls.slice(before).map((c) => c.sql)).toEqual(statements);
        },
      ),
      { seed, numRuns: 200 },
    );
  });

  test('a script of nothing but spaces, comments and semicolons runs nothing', async () => {
    const { host, outcomes } = await run('script: ; -- x;\n /* ; */ ;;');
    expect(outcomes).toEqual([{ tag: 'err', val: '0|0|ok' }]);
    expect(host.calls).toEqual([]);
  });
});

describe('values', () => {
  test('every kind of value the guest sends arrives intact: extremes, reals that look like integers, unicode', async () => {
    const { host } = await run('values');
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(params(callsTo(host, 'values')[0])).toEqual([
      { tag: 'null' },
      { tag: 'integer', val: -(2n ** 63n) },
      { tag: 'integer', val: 2n ** 63n - 1n },
      { tag: 'integer', val: 0n },
      { tag: 'integer', val: -1n },
      { tag: 'real', val: 2 },
      { tag: 'real', val: -0 },
      { tag: 'real', val: 1e300 },
      { tag: 'real', val: 5e-324 },
      { tag: 'real', val: 0.1 },
      { tag: 'real', val: Number.POSITIVE_INFINITY },
      { tag: 'text', val: '' },
      { tag: 'text', val: 'héllo wörld ✓ 🌍 中文' },
      { tag: 'blob', val: new Uint8Array(0) },
      { tag: 'blob', val: bytes },
      { tag: 'integer', val: 1n },
    ]);
    expect(Object.is((params(callsTo(host, 'values')[0])[6] as { val: number }).val, -0)).toBe(true);
  });

  test('any string crosses as the UTF-8 of its well-formed form (lone surrogates as U+FFFD): SQL, texts, batches', async () => {
    const seed = Number(process.env.FC_SEED ?? 0x5e1f);
    const host = new FakeHost();
    const reducer = await instantiate(host);
    const unit = fc.oneof(
      fc.integer({ min: 0x20, max: 0x7e }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0xd800, max: 0xdfff }),
    );
    const wellFormed = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 40 }), (codes) => {
        const s = String.fromCharCode(...codes);
        const payload = new Uint8Array(6 + 2 * codes.length);
        payload.set(new TextEncoder().encode('units:'));
        codes.forEach((c, i) => {
          payload[6 + 2 * i] = c & 0xff;
          payload[7 + 2 * i] = c >> 8;
        });
        const before = host.calls.length;
        expect(host.reduce(reducer, [mutation(payload)])).toEqual([{ tag: 'ok' }]);
        const w = wellFormed(s);
        const text = (val: string): SqlValue => ({ tag: 'text', val });
        expect(host.calls.slice(before)).toEqual([
          {
            fn: 'execute',
            sql: `units:${w}`,
            params: [text(w), { tag: 'integer', val: 1n }, text(wellFormed(s + s))],
          },
          {
            fn: 'executeBatch',
            sql: `batch:${w}`,
            rows: [[text(w)], [], [{ tag: 'blob', val: payload }, text(w)]],
          },
          { fn: 'query', sql: `query:${w}`, params: [text(w)] },
        ]);
      }),
      { seed, numRuns: 300 },
    );
  });

  test('a string the JSON decoder made crosses as what it decoded: the payload overwritten since, many strings, a later call', async () => {
    const host = new FakeHost();
    const reducer = await instantiate(host);
    const strings = Array.from({ length: 40 }, (_, i) => `${'long plain ascii '.repeat(1 + (i % 3))}${i}`);
    const mixed = [
      ...strings,
      'short',
      'escaped \\ "quote" and more than sixteen',
      'ünïcödé, and more than sixteen',
    ];
    const payload = `origin:${JSON.stringify({ s: mixed })}`;
    expect(host.reduce(reducer, [mutation(payload), mutation(payload, 1)])).toEqual([
      { tag: 'ok' },
      { tag: 'ok' },
    ]);
    for (const call of callsTo(host, 'origin'))
      expect(params(call)).toEqual(mixed.map((val) => ({ tag: 'text', val })));
    // A call after one that parsed the same shape: an escaped string (not taken from the input) of the
    // length a plain one had, likely at its address.
    for (const [i, text] of [
      'A'.repeat(40),
      `${'A'.repeat(39)}\n`,
      'C'.repeat(40),
      `${'D'.repeat(39)}\t`,
    ].entries()) {
      host.reduce(reducer, [mutation(`origin:${JSON.stringify({ s: [text] })}`, 10 + i)]);
      expect(params(callsTo(host, 'origin').at(-1))).toEqual([{ tag: 'text', val: text }]);
    }
    // Calls after the one that parsed them: the strings are gone, their memory reused.
    for (const length of new Set(strings.map((t) => t.length))) {
      host.reduce(reducer, [mutation(`build:${length}`)]);
      const built = Array.from(
        { length: 64 },
        (_, k) => `${'B'.repeat(length - 3)}${String(k).padStart(3, '0')}`,
      );
      expect(params(callsTo(host, 'build').at(-1))).toEqual(built.map((val) => ({ tag: 'text', val })));
    }
  });

  test('rows the host returns reach the guest intact, and it can send them back in one batch', async () => {
    const host = new FakeHost();
    const rows: SqlValue[][] = [
      [
        { tag: 'integer', val: -(2n ** 63n) },
        { tag: 'real', val: 2 },
        { tag: 'text', val: '🌍 ünïcödé' },
        { tag: 'blob', val: Uint8Array.of(0, 255, 7) },
        { tag: 'null' },
      ],
      [
        { tag: 'integer', val: 2n ** 63n - 1n },
        { tag: 'real', val: -1.5e-300 },
        { tag: 'text', val: '' },
        { tag: 'blob', val: new Uint8Array(0) },
        { tag: 'null' },
      ],
    ];
    host.rowSet = { columns: ['a', 'b', 'ç', '', 'e'], rows };
    const reducer = await instantiate(host);
    expect(host.reduce(reducer, [mutation('echo')])).toEqual([{ tag: 'ok' }]);
    expect(params(callsTo(host, 'columns')[0])).toEqual(
      host.rowSet.columns.map((c) => ({ tag: 'text', val: c })),
    );
    expect(params(callsTo(host, 'column-index')[0])).toEqual([
      { tag: 'integer', val: 1n },
      { tag: 'integer', val: -1n },
    ]);
    expect(callsTo(host, 'rows')).toEqual([{ fn: 'executeBatch', sql: 'rows', rows }]);
  });

  test('a SQL error reaches the guest as a value, never a trap', async () => {
    const { outcomes } = await run('errors');
    expect(outcomes).toEqual([
      {
        tag: 'err',
        val: 'no such table: FAIL execute|no such table: FAIL query|no such table: FAIL batch|0|0|false|1|1|1',
      },
    ]);
  });

  test('log messages arrive with their level', async () => {
    const { host } = await run('log');
    expect(host.logs).toEqual([
      ['debug', 'débug'],
      ['info', 'ínfo'],
      ['warn', 'wärn'],
      ['error', 'érror 🚨'],
    ]);
  });
});

describe('determinism', () => {
  test('the reducer sees its mutation’s envelope, and now()/random() follow the mutation entered', async () => {
    const host = new FakeHost();
    const reducer = await instantiate(host);
    const batch = [mutation('envelope', 5, 'tl-ü'), mutation('envelope', 6, 'tl-ü')];
    host.reduce(reducer, batch);
    const [first, second] = callsTo(host, 'envelope').map(params);
    expect(first?.slice(0, 4)).toEqual([
      { tag: 'text', val: 'tl-ü' },
      { tag: 'integer', val: 5n },
      { tag: 'integer', val: batch[0]?.timestamp },
      { tag: 'integer', val: batch[0]?.timestamp },
    ]);
    expect(second?.[3]).toEqual({ tag: 'integer', val: batch[1]?.timestamp });
    expect(first?.[7]).toEqual({ tag: 'blob', val: new TextEncoder().encode('envelope') });
    expect(first?.[4]).not.toEqual(second?.[4]);
  });

  test('Math.random is a function of the mutation’s envelope alone, whatever ran before it', async () => {
    const draws = async (prefix: string[], target = mutation('envelope', 9, 'tl')) => {
      const host = new FakeHost();
      const reducer = await instantiate(host);
      for (const p of prefix) host.reduce(reducer, [mutation(p, 1, 'other')]);
      host.reduce(reducer, [...prefix.map((p, i) => mutation(p, i, 'x')), target]);
      return params(callsTo(host, 'envelope').at(-1)).slice(4, 7);
    };
    const alone = await draws([]);
    expect(await draws(['envelope', 'envelope', 'log'])).toEqual(alone);
    expect(await draws(['values'])).toEqual(alone);
    expect(await draws([], mutation('envelope', 10, 'tl'))).not.toEqual(alone);
  });
});

describe('entropy, lazily', () => {
  test('a mutation that draws nothing asks the host for no randomness; one using Math.random asks once for its seed', async () => {
    const host = new FakeHost();
    const reducer = await instantiate(host);
    host.reduce(reducer, [mutation('log', 0), mutation('log', 1)]);
    expect(host.randomCalls).toBe(0);
    host.reduce(reducer, [mutation('envelope', 2)]);
    // envelope draws random() once and Math.random twice: one value for random(), one for Math's seed.
    expect(host.randomCalls).toBe(2);
  });
});

describe('reduceBatch', () => {
  const source = `import { enter, Mutation, Outcome, sql, Value } from '@tandem/reducer-sdk/assembly';
export const SCHEMA_VERSION: u32 = 2;
export function migrate(from: u32): Outcome {
  return Outcome.ok();
}
export function reduceBatch(batch: Mutation[]): Outcome[] {
  const rows: Value[][] = [];
  const outcomes: Outcome[] = [];
  for (let i = 0; i < batch.length; i++) {
    enter(i);
    rows.push([Value.integer(<i64>batch[i].lsn), Value.real(Math.random())]);
    outcomes.push(batch[i].text() === 'bad' ? Outcome.reject('bad mutation') : Outcome.ok());
  }
  sql.executeBatch('INSERT INTO t VALUES (?, ?)', rows);
  return outcomes;
}
`;
  let instantiateBatch: (host: FakeHost) => Promise<JcoReducer>;

  beforeAll(async () => {
    instantiateBatch = await jcoBindings((await buildReducer(await reducerDir({ source }))).component);
  });

  test('a reducer that exports reduceBatch gets the whole batch and can write it in one call', async () => {
    const host = new FakeHost();
    const reducer = await instantiateBatch(host);
    const outcomes = host.reduce(reducer, [mutation('a', 0), mutation('bad', 1), mutation('c', 2)]);
    expect(outcomes).toEqual([{ tag: 'ok' }, { tag: 'err', val: 'bad mutation' }, { tag: 'ok' }]);
    expect(host.entered).toEqual([0, 1, 2, 3]);
    const [insert, ...others] = host.calls;
    expect(others).toEqual([]);
    expect(insert?.fn === 'executeBatch' && insert.rows.map((r) => r[0])).toEqual([
      { tag: 'integer', val: 0n },
      { tag: 'integer', val: 1n },
      { tag: 'integer', val: 2n },
    ]);
  });

  test('in reduceBatch, Math.random after enter(i) follows mutation i alone', async () => {
    const randomOf = async (batch: ReturnType<typeof mutation>[]) => {
      const host = new FakeHost();
      host.reduce(await instantiateBatch(host), batch);
      const insert = host.calls[0];
      return insert?.fn === 'executeBatch' ? insert.rows.at(-1)?.[1] : undefined;
    };
    const target = mutation('x', 7, 'tl');
    expect(await randomOf([mutation('a', 0), mutation('b', 1), target])).toEqual(await randomOf([target]));
  });
});
