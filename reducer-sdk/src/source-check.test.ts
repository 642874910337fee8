import fc from 'fast-check';
import { expect, test } from 'vitest';
import { blankNonCode, findNondeterministicUses } from './source-check.js';

test('uses in code are found with their line and column, whatever the spacing', () => {
  const source =
    "const a = Date.now();\nlet b = 1; console.log('x');\n  if (Date . now() > 0) performance.now();\n";
  expect(findNondeterministicUses(source)).toEqual([
    { import: 'env.Date.now', line: 1, column: 11 },
    { import: 'env.console.log', line: 2, column: 12 },
    { import: 'env.Date.now', line: 3, column: 7 },
    { import: 'env.performance.now', line: 3, column: 25 },
  ]);
});

test('mentions in comments, strings and template text are not uses; template substitutions are code', () => {
  const source = [
    '// Date.now() here is a comment',
    "/* console.log('x')",
    '   Date.now() */ const s = "Date.now() \\" Date.now()";',
    "const t = 'console.log(1) \\' Date.now()';",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: AssemblyScript source holding a template, on purpose
    'const u = `Date.now() ${ { a: 1 }.a + f(`nested ${1} Date.now()`) } Date.now() ${Date.now()}`;',
    'const myDate = x.myDate.now; const DateNow = 1;',
  ].join('\n');
  expect(findNondeterministicUses(source)).toEqual([{ import: 'env.Date.now', line: 5, column: 82 }]);
});

test('blanking keeps every line break and the length, so positions still match the source', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: fc.constantFrom('a', ' ', '\n', '/', '*', '"', "'", '`', '$', '{', '}', '\\') }),
      (s) => {
        const blanked = blankNonCode(s);
        expect(blanked.length).toBe(s.length);
        expect([...blanked].map((c, i) => (c === '\n') === (s[i] === '\n'))).not.toContain(false);
      },
    ),
  );
});

test('a use hidden in a comment or a string anywhere between lines of code is never reported', () => {
  const wrap = fc.constantFrom(
    (x: string) => `// ${x}`,
    (x: string) => `/* ${x} */`,
    (x: string) => `const s = "${x}";`,
    (x: string) => `const s = '${x}';`,
    (x: string) => `const s = \`${x}\`;`,
  );
  // biome-ignore lint/suspicious/noTemplateCurlyInString: AssemblyScript source holding a template, on purpose
  const code = fc.constantFrom('let a = 1;', 'f({ b: 2 });', 'const t = `x${y}z`;', '}', '{');
  fc.assert(
    fc.property(
      fc.array(code),
      wrap,
      fc.constantFrom('Date.now()', 'console.log(1)'),
      fc.array(code),
      (pre, w, use, post) => {
        const source = [...pre, w(use), ...post].join('\n');
        expect(findNondeterministicUses(source)).toEqual([]);
        // The same use as code, on the line after: found there.
        const line = pre.length + 2;
        expect(findNondeterministicUses([...pre, w('x'), use, ...post].join('\n'))).toEqual([
          expect.objectContaining({ line, column: 1 }),
        ]);
      },
    ),
  );
});
