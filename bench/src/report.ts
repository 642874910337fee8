// One comparable line per figure: `<figure>  <value> <unit>  (<detail>)`, aligned for side-by-side reading.
export function report(figure: string, value: number, unit: string, detail = ''): void {
  const shown = value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
  console.log(`${figure.padEnd(52)} ${shown.padStart(12)} ${unit}${detail ? `  (${detail})` : ''}`);
}

/** The middle value (the upper one of an even count), as every line here takes it; NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The median of `runs` timings of `fn`, in milliseconds. */
export async function medianMs(runs: number, fn: () => Promise<void> | void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return median(times);
}
