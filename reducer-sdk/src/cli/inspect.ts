import { readFile } from 'node:fs/promises';
import { SdkError } from '../errors.js';
import { inspectReducer } from '../inspect.js';

export async function inspectCommand(path: string): Promise<void> {
  const bytes = await readFile(path).catch((e: unknown) => {
    throw new SdkError('bad-input', `cannot read ${path}`, { cause: e });
  });
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
