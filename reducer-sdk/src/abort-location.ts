// An asc transform that gives a reducer's own `abort(message)` calls their place. AssemblyScript fills
// in `fileName`, `lineNumber` and `columnNumber` for what it raises itself (`throw`, an index out of
// range) but passes null and zeros for a direct `abort("x must be positive")`; the SDK reports the
// place with the message (assembly/env.ts `abortCall`), so the rejection reason can name the line.
// Only user sources are rewritten, and not one that declares a function of its own named `abort`.

import { CallExpression, IdentifierExpression, Node, type Parser, type Source } from 'assemblyscript';

/** SourceKind.User and .UserEntry (a const enum that verbatimModuleSyntax cannot read). */
const USER_SOURCES: ReadonlySet<number> = new Set([0, 1]);

type I64 = Parameters<typeof Node.createIntegerLiteralExpression>[0];

/** asc's own i64 (a long.js value it puts on globalThis), as its parser makes literals. */
function i64(n: number): I64 {
  return (globalThis as unknown as { i64_new(low: number, high: number): I64 }).i64_new(n, 0);
}

/** asc instantiates a transform class itself (compile.ts). */
export class AbortLocation {
  afterParse(parser: Parser): void {
    for (const source of parser.sources) {
      if (!USER_SOURCES.has(source.sourceKind)) continue;
      if (/\bfunction\s+abort\b/.test(source.text)) continue;
      visit(source, source);
    }
  }
}

function visit(node: Node, source: Source): void {
  if (node instanceof CallExpression) locate(node, source);
  for (const [key, child] of Object.entries(node)) {
    // A range points back at its source (a node): the only way around the tree.
    if (key === 'range') continue;
    if (child instanceof Node) visit(child, source);
    else if (Array.isArray(child)) {
      for (const item of child) if (item instanceof Node) visit(item, source);
    }
  }
}

function locate(call: CallExpression, source: Source): void {
  const callee = call.expression;
  if (!(callee instanceof IdentifierExpression) || callee.text !== 'abort' || call.args.length > 1) return;
  const range = call.range;
  const line = source.lineAt(range.start);
  const column = source.columnAt();
  if (call.args.length === 0) call.args.push(Node.createNullExpression(range));
  call.args.push(
    Node.createStringLiteralExpression(source.normalizedPath, range),
    Node.createIntegerLiteralExpression(i64(line), range),
    Node.createIntegerLiteralExpression(i64(column), range),
  );
}
