// Every code block of the root README and of reducer-sdk/README.md is one of: shell (```sh, never
// run), a block another test runs (an HTML comment naming that test file just above it), or a block
// this test runs as a stranger would: AssemblyScript reducers built with the `tandem` CLI and given
// mutations, TypeScript type-checked and run with Node in a fresh folder (against a real coordinator
// where they need one; its URL is the only thing changed), and the manifest example compared with a
// real build's. So no snippet can rot unseen.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Coordinator, startCoordinator } from '@tandem/coordinator';
import { openDocument } from '@tandem/host-node';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { REPO_ROOT } from './support/vite-server.js';

const run = promisify(execFile);
const README_FILES = ['README.md', 'reducer-sdk/README.md'];
const TANDEM = join(REPO_ROOT, 'reducer-sdk/bin/tandem.js');
const TODO = join(REPO_ROOT, 'reducers/todo/dist/reducer.wasm');

interface Block {
  readonly readme: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** The test file an HTML comment just above the fence names (`<!-- e2e/src/x.test.ts… -->`). */
  readonly testedBy: string | undefined;
}

function blocksOf(readme: string, text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) throw new Error(`${readme}:${i + 1}: a code block that never closes`);
    const marker = /^<!--\s*(\S+\.test\.ts)\b/.exec(lines[i - 1] ?? '');
    blocks.push({
      readme,
      line: i + 1,
      lang: open[1] ?? '',
      code: lines.slice(i + 1, end).join('\n'),
      testedBy: marker?.[1],
    });
    i = end;
  }
  return blocks;
}

const blocks: Block[] = [];
for (const readme of README_FILES) {
  blocks.push(...blocksOf(readme, await readFile(join(REPO_ROOT, readme), 'utf8')));
}
const isAssemblyScript = (b: Block) => b.code.includes("from '@tandem/reducer-sdk/assembly'");
const mine = blocks.filter((b) => b.testedBy === undefined && b.lang !== 'sh');
const reducers = mine.filter((b) => b.lang === 'ts' && isAssemblyScript(b));
const scripts = mine.filter((b) => (b.lang === 'ts' || b.lang === 'js') && !isAssemblyScript(b));
const manifests = mine.filter((b) => b.lang === 'json');
const where = (b: Block) => `${b.readme}:${b.line}`;

let scratch: string;
let coordinator: Coordinator;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'tandem-readme-'));
  coordinator = await startCoordinator({ reducer: await readFile(TODO), port: 0, workers: 1 });
});

afterAll(async () => {
  await coordinator?.close();
  await rm(scratch, { recursive: true, force: true });
});

test('every code block is shell, names the test that runs it, or is one this test runs', () => {
  const unaccounted = mine
    .filter((b) => !reducers.includes(b) && !scripts.includes(b) && !manifests.includes(b))
    .map((b) => `${where(b)} (\`\`\`${b.lang})`);
  expect(unaccounted, 'blocks no test runs: mark shell as ```sh, or test them').toEqual([]);
  for (const b of blocks.filter((b) => b.testedBy !== undefined)) {
    const test = join(REPO_ROOT, b.testedBy!);
    expect(existsSync(test), `${where(b)} names ${b.testedBy}, which does not exist`).toBe(true);
  }
  // The blocks this test runs (so that a README losing them is noticed here).
  expect([reducers.length, scripts.length, manifests.length]).toEqual([1, 2, 1]);
});

/** Builds `source` as `<scratch>/<name>/assembly/index.ts` with the tandem CLI; returns the folder. */
async function build(name: string, source: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(join(dir, 'assembly'), { recursive: true });
  await writeFile(join(dir, 'assembly/index.ts'), source);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  await run(process.execPath, [TANDEM, 'build', dir], { timeout: 120_000 });
  return dir;
}

describe('reducer-sdk/README.md', () => {
  test("the reducer from scratch builds, migrates with its script, stores notes and rejects with the decoder's reason", async () => {
    const [block] = reducers;
    const dir = await build('my-reducer', block!.code);
    const doc = await openDocument({ docId: 'readme-notes', reducer: join(dir, 'dist/reducer.wasm') });
    try {
      const results = await doc.mutateBatch([
        { id: 'a', body: 'hello' },
        [1, 2],
        new TextEncoder().encode('{"id" 1}'),
        { id: 'b' },
        { id: 'a', body: 'hello again' },
      ]);
      expect(results.map((r) => (r.status === 'applied' ? 'applied' : r.reason))).toEqual([
        'applied',
        'not a JSON object',
        "expected ':' at byte 6",
        'id and body must be strings',
        'applied',
      ]);
      expect(await doc.query('SELECT id, body FROM notes')).toEqual([{ id: 'a', body: 'hello again' }]);
      expect(
        await doc.query("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'notes_by_body'"),
      ).toEqual([{ name: 'notes_by_body' }]);
    } finally {
      await doc.close();
    }
    const manifest: unknown = JSON.parse(await readFile(join(dir, 'dist/manifest.json'), 'utf8'));
    const [example] = manifests;
    const shown: unknown = JSON.parse(example!.code.replaceAll('"…"', '""'));
    expect(shapeOf(shown), `${where(example!)} shows another manifest than tandem build writes`).toEqual(
      shapeOf(manifest),
    );
    expect((shown as { world: string }).world).toBe((manifest as { world: string }).world);
  }, 180_000);
});

/** Keys and value types, recursively: what a manifest example must share with a real one. */
function shapeOf(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
}

describe('README.md', () => {
  let folder: string;

  beforeAll(async () => {
    // A stranger's folder: the packages as installed, the repository's built todo reducer where the
    // snippets say it is.
    folder = join(scratch, 'app');
    await mkdir(join(folder, 'reducers/todo'), { recursive: true });
    await symlink(join(REPO_ROOT, 'node_modules'), join(folder, 'node_modules'), 'dir');
    await symlink(join(REPO_ROOT, 'reducers/todo/dist'), join(folder, 'reducers/todo/dist'), 'dir');
    await writeFile(join(folder, 'package.json'), JSON.stringify({ type: 'module', private: true }));
    const sync = `${coordinator.url.replace('http', 'ws')}/sync`;
    await Promise.all(
      scripts.map((b, i) =>
        writeFile(join(folder, `snippet-${i}.ts`), b.code.replaceAll('ws://127.0.0.1:8787/sync', sync)),
      ),
    );
  });

  test('its TypeScript blocks type-check under strict settings', async () => {
    const files = scripts.map((_, i) => join(folder, `snippet-${i}.ts`));
    const program = ts.createProgram(files, {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ['node'],
      typeRoots: [join(REPO_ROOT, 'node_modules/@types')],
      skipLibCheck: true,
    });
    const errors = ts.getPreEmitDiagnostics(program).map((d) => {
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      const snippet = d.file ? scripts[Number(/snippet-(\d+)/.exec(d.file.fileName)?.[1])] : undefined;
      const line = snippet && at ? `${where(snippet)}+${at.line + 1}` : (d.file?.fileName ?? '?');
      return `${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
    expect(errors).toEqual([]);
  }, 60_000);

  test('its TypeScript blocks run with Node, the second against a real coordinator', async () => {
    for (const [i, b] of scripts.entries()) {
      const js = ts.transpileModule(await readFile(join(folder, `snippet-${i}.ts`), 'utf8'), {
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
      }).outputText;
      await writeFile(join(folder, `snippet-${i}.mjs`), js);
      const { stdout } = await run(process.execPath, [`snippet-${i}.mjs`], {
        cwd: folder,
        timeout: 60_000,
      }).catch((error: { stderr?: string }) => {
        throw new Error(`${where(b)} failed: ${error.stderr ?? String(error)}`);
      });
      if (i === 0) expect(stdout).toContain("title: 'milk'");
      else expect(stdout).toContain("status: 'confirmed'");
    }
    // The local document and the client each kept their own folder; the coordinator its own.
    expect(existsSync(join(folder, 'local-data/notes'))).toBe(true);
    expect(existsSync(join(folder, 'client-data/demo'))).toBe(true);
  }, 120_000);
});
