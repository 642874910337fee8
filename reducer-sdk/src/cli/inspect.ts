import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SdkError } from '../errors.js';
import { inspectReducer } from '../inspect.js';

/** Why `path` cannot be inspected when it is not a readable file, pointing at the file meant if it can. */
async function unreadable(path: string, error: unknown): Promise<SdkError> {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  if (code === 'ENOENT') return new SdkError('bad-input', `no such file: ${path}`, { cause: error });
  if (code === 'EISDIR') {
    for (const candidate of [join(path, 'dist', 'reducer.wasm'), join(path, 'reducer.wasm')]) {
      if ((await stat(candidate).catch(() => undefined))?.isFile()) {
        return new SdkError('bad-input', `${path} is a folder; did you mean ${candidate}?`, { cause: error });
      }
    }
    return new SdkError(
      'bad-input',
      `${path} is a folder: give the reducer.wasm \`tandem build\` wrote (<dir>/dist/reducer.wasm)`,
      { cause: error },
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new SdkError('bad-input', `cannot read ${path}: ${reason}`, { cause: error });
}

export async function inspectCommand(path: string): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw await unreadable(path, e);
  }
  const r = await inspectReducer(new Uint8Array(bytes)).catch((e: unknown) => {
    if (e instanceof SdkError) throw new SdkError(e.kind, `${path} is not a Tandem reducer: ${e.message}`);
    throw e;
  });
  const lines = [
    `world          ${r.world}`,
    `schema version ${r.schemaVersion}`,
    `size           ${r.bytes} bytes`,
    `sha256         ${r.sha256}`,
    `prepared       ${r.prepared.sha256} (${r.prepared.bytes} bytes, meter version ${r.prepared.meterVersion})`,
    'imports',
    ...r.imports.map((i) => `  ${i}`),
    'exports',
    ...r.exports.map((e) => `  ${e.slice('export '.length)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
